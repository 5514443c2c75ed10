import type { Directory } from '../../cluster/directory.js';
import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import { serverPushFrame } from '../../notify/frames.js';
import type { Notification, Notifier } from '../../notify/notifier.js';
import type { FrameOf } from '../../notify/server-frames.js';
import { memberIds } from '../groups/index.js';
import { recordUserEvent } from '../conversations/index.js';
import { advanceProgress, progressOf, startProgress } from './push-progress.js';

/** Users whose events one transaction records. */
const CHUNK = 100;

/** What a business backend asks of the IM server (the push API). */
export class PushService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly delivery: { broadcast(frame: FrameOf<25>): Promise<void> },
    private readonly directory: Pick<Directory, 'locate'>,
    private readonly sessions: { revokeAll(userId: number): Promise<boolean> },
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Cmd 25 to every device of each user, stored first in the user's event stream (so a device
   * that is offline gets it by sync, like any event). Unknown ids are reported, not pushed.
   *
   * `op` (an Idempotency-Key's operation): each batch records, in its own transaction, the last
   * user it stored, and skips the users an earlier attempt of the same operation stored; so a
   * call that failed midway and is made again pushes each user once. The answer names every
   * known user, those of the earlier attempt included.
   */
  async toUsers(userIds: readonly number[], body: string, op?: string): Promise<{ pushed: number[]; unknown: number[] }> {
    // Ascending, so that concurrent pushes lock the users' rows in one order, and so that one
    // number (the last user stored) says how far an operation got.
    const ids = [...new Set(userIds)].sort((a, b) => a - b);
    const rows = await this.db.selectFrom('users').select('id').where('id', 'in', ids).execute();
    const known = new Set(rows.map((r) => Number(r.id)));
    const pushed = ids.filter((id) => known.has(id));
    const now = this.clock();
    if (op !== undefined) await startProgress(this.db, op, now);
    for (let i = 0; i < pushed.length; i += CHUNK) {
      const chunk = pushed.slice(i, i + CHUNK);
      const events = await transact(this.db, async (trx) => {
        const doneThrough = op === undefined ? 0 : await progressOf(trx, op);
        const out: Notification[] = [];
        for (const userId of chunk) if (userId > doneThrough) out.push(await recordUserEvent(trx, userId, serverPushFrame(userId, body), now));
        if (op !== undefined) await advanceProgress(trx, op, chunk.at(-1)!);
        return out;
      });
      for (const event of events) this.notifier.notify(event);
    }
    return { pushed, unknown: ids.filter((id) => !known.has(id)) };
  }

  /**
   * `toUsers` for every member of a group (a notice to a team): each member's event stream, so
   * members offline get it by sync. NOT_FOUND for a group that does not exist.
   */
  async toGroup(groupId: number, body: string, op?: string): Promise<{ pushed: number }> {
    const members = await memberIds(this.db, groupId);
    if (members.length === 0) throw new AppError('group_not_found');
    const { pushed } = await this.toUsers(members, body, op);
    return { pushed: pushed.length };
  }

  /** Cmd 25 to every signed-in socket of the cluster, now; not stored (a device offline never gets it). */
  async broadcast(body: string): Promise<void> {
    await this.delivery.broadcast({ ...serverPushFrame(0, body), Time: this.clock() });
  }

  /** Ends every session of the user (a ban, a password reset elsewhere): tokens refused, sockets closed (4003). */
  async logout(userId: number): Promise<void> {
    if (!(await this.sessions.revokeAll(userId))) throw new AppError('user_not_found');
  }

  /** Which of these users have a signed-in socket on some node. */
  async online(userIds: readonly number[]): Promise<number[]> {
    const ids = [...new Set(userIds)];
    const located = new Set([...(await this.directory.locate(ids)).values()].flat());
    return ids.filter((id) => located.has(id));
  }
}


