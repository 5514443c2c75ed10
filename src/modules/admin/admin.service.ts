import type { Db, Executor } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { TokenService } from '../auth/index.js';
import type { GroupAdminService } from '../groups/index.js';
import type { MessagesService } from '../messages/index.js';
import { toPublicUser } from '../users/index.js';

export interface AdminDeps {
  tokens: Pick<TokenService, 'revokeAll'>;
  groupAdmin: Pick<GroupAdminService, 'dissolveAsOperator'>;
  messages: Pick<MessagesService, 'withdrawAsOperator'>;
  /** Which of these users have a socket somewhere in the cluster. */
  online(userIds: number[]): Promise<number[]>;
  /** Sockets and users signed in on this node. */
  here(): { node: string; sockets: number; users: number };
}

const DAY = 86_400_000;

/**
 * The operator's actions (`/api/v1/admin/*`): ban and unban users, look them up, dissolve a group,
 * delete a message whatever its age, and counts. Every action is written to `admin_audit`.
 */
export class AdminService {
  constructor(
    private readonly db: Db,
    private readonly deps: AdminDeps,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Bans a user: login refused with the reason (403 / 1009), every session ended on every node. */
  async ban(userId: number, reason: string, ip: string): Promise<void> {
    const now = this.clock();
    await transact(this.db, async (trx) => {
      // Every session issued until now ends with the ban itself, even if telling the nodes fails.
      const changed = await trx.updateTable('users').set({ banned_at: now, ban_reason: reason, updated_at: now, sessions_valid_after: now }).where('id', '=', userId).executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) throw new AppError('user_not_found');
      await audit(trx, { action: 'ban', targetId: userId, detail: { reason }, ip, now });
    });
    await this.deps.tokens.revokeAll(userId);
  }

  async unban(userId: number, ip: string): Promise<void> {
    const now = this.clock();
    await transact(this.db, async (trx) => {
      const changed = await trx.updateTable('users').set({ banned_at: null, ban_reason: '', updated_at: now }).where('id', '=', userId).executeTakeFirst();
      if (Number(changed.numUpdatedRows) === 0) throw new AppError('user_not_found');
      await audit(trx, { action: 'unban', targetId: userId, detail: {}, ip, now });
    });
  }

  async lookup(by: { user_id?: number; username?: string }) {
    let query = this.db.selectFrom('users').select(['id', 'username', 'nickname', 'avatar', 'sex', 'created_at', 'banned_at', 'ban_reason']);
    query = by.user_id !== undefined ? query.where('id', '=', by.user_id) : query.where('username', '=', by.username!.toLowerCase());
    const row = await query.executeTakeFirst();
    if (!row) throw new AppError('user_not_found');
    const online = (await this.deps.online([Number(row.id)])).length > 0;
    return {
      user: { ...toPublicUser(row), created_at: Number(row.created_at), banned: row.banned_at !== null, banned_at: row.banned_at === null ? null : Number(row.banned_at), ban_reason: row.ban_reason, online },
    };
  }

  async dissolveGroup(groupId: number, reason: string, ip: string): Promise<void> {
    await this.deps.groupAdmin.dissolveAsOperator(groupId, async (trx) => audit(trx, { action: 'dissolve_group', targetId: groupId, detail: { reason }, ip, now: this.clock() }));
  }

  async deleteMessage(messageId: number, reason: string, ip: string): Promise<void> {
    await this.deps.messages.withdrawAsOperator(messageId, async (trx) => audit(trx, { action: 'delete_message', targetId: messageId, detail: { reason }, ip, now: this.clock() }));
  }

  /** Users, groups, messages a day (the last 7 UTC days, today last), and who is online on this node. */
  async stats() {
    const now = this.clock();
    const today = Math.floor(now / DAY) * DAY;
    const count = async (table: 'users' | 'groups') => Number((await this.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    // Messages have no index on created_at (every send would pay for one): the day's first id is
    // found by a binary search over the primary key, and a day's count is the ids between two
    // boundaries (ids a failed batch took and never stored count too).
    const firstAtOrAfter = async (t: number, lo: number, hi: number): Promise<number> => {
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        const row = await this.db.selectFrom('messages').select(['id', 'created_at']).where('id', '>=', mid).orderBy('id').limit(1).executeTakeFirst();
        if (!row || Number(row.created_at) >= t) hi = mid;
        else lo = Number(row.id) + 1;
      }
      return lo;
    };
    const bounds = await this.db.selectFrom('messages').select([(eb) => eb.fn.min<number>('id').as('lo'), (eb) => eb.fn.max<number>('id').as('hi')]).executeTakeFirstOrThrow();
    const lo = Number(bounds.lo ?? 1);
    const hi = Number(bounds.hi ?? 0) + 1;
    const perDay = [];
    for (let d = 6; d >= 0; d--) {
      const from = today - d * DAY;
      const n = (await firstAtOrAfter(from + DAY, lo, hi)) - (await firstAtOrAfter(from, lo, hi));
      perDay.push({ day: new Date(from).toISOString().slice(0, 10), messages: n });
    }
    const banned = Number((await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).where('banned_at', 'is not', null).executeTakeFirstOrThrow()).n);
    return { users: await count('users'), banned_users: banned, groups: await count('groups'), messages_per_day: perDay, this_node: this.deps.here() };
  }
}

async function audit(trx: Executor, a: { action: string; targetId: number; detail: Record<string, unknown>; ip: string; now: number }): Promise<void> {
  await trx.insertInto('admin_audit').values({ action: a.action, target_id: a.targetId, detail: JSON.stringify(a.detail), ip: a.ip, created_at: a.now }).execute();
}
