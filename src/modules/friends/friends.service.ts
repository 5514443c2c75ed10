import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import { Cmd } from '../../notify/cmd.js';
import { userEventFrame } from '../../notify/frames.js';
import type { Notifier } from '../../notify/notifier.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import { recordUserEvent, setFriendConversationClosed } from '../conversations/index.js';
import { findUserById, findUserByUsername, type PublicUser, toPublicUser } from '../users/index.js';
import {
  areFriends, deleteFriendship, findPairRequestForUpdate, findPendingIncomingForUpdate, insertFriendship,
  insertRequest, listFriends, listPendingIncoming, renewRequest, setRequestStatus,
} from './friends.repo.js';
import { RequestStatus } from './friends.table.js';
import { FriendshipCache } from './friendship-cache.js';

export interface IncomingRequest {
  id: number;
  from: PublicUser;
  channel: string;
  reason: string;
  created_at: number;
}

/** Most friends or pending requests one call returns. */
const LIST_CAP = 5000;

/** Friend requests, acceptance, listing and removal. Notifications go out after commit. */
export class FriendsService {
  private readonly friendships: FriendshipCache;
  private readonly endedListeners: Array<(a: number, b: number) => void> = [];

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
    private readonly clock: () => number = Date.now,
  ) {
    this.friendships = new FriendshipCache(db);
  }

  /**
   * Asks `target` to be friends. A repeated pending request returns the same id; if `target` had
   * already asked us, this accepts their request instead (`accepted: true`).
   */
  async request(selfId: number, target: { username?: string; fUid?: number }, channel: string, reason: string) {
    const targetRow = target.fUid !== undefined ? await findUserById(this.db, target.fUid) : await findUserByUsername(this.db, target.username ?? '');
    if (!targetRow) throw new AppError('user_not_found');
    const targetId = Number(targetRow.id);
    if (targetId === selfId) throw new AppError('add_self');
    const now = this.clock();
    const outcome = await transact(
      this.db,
      async (trx) => {
        if (await areFriends(trx, selfId, targetId)) throw new AppError('already_friends');
        const row = await findPairRequestForUpdate(trx, selfId, targetId);
        const fields = { from: selfId, to: targetId, channel, reason, now };
        if (row && row.status === RequestStatus.Pending && Number(row.from_uid) === targetId) {
          await insertFriendship(trx, selfId, targetId, now);
          await setFriendConversationClosed(trx, selfId, targetId, false);
          await setRequestStatus(trx, row.id, RequestStatus.Accepted, now);
          await this.webhooks.record(trx, 'friend.accepted', orderKey.friends(selfId, targetId), { user_id: selfId, friend_id: targetId });
          const event = await recordUserEvent(trx, targetId, userEventFrame(Cmd.FriendAccepted, selfId, targetId), now);
          return { id: Number(row.id), accepted: true, event };
        }
        if (row && row.status === RequestStatus.Pending) return { id: Number(row.id), accepted: false, event: undefined };
        const id = row ? Number(row.id) : await insertRequest(trx, fields);
        if (row) await renewRequest(trx, row.id, fields);
        await this.webhooks.record(trx, 'friend.requested', orderKey.friends(selfId, targetId), { request_id: id, from_id: selfId, to_id: targetId, channel, reason });
        const event = await recordUserEvent(trx, targetId, userEventFrame(Cmd.FriendRequest, selfId, targetId, reason), now);
        return { id, accepted: false, event };
      },
      { retryOnUnique: true },
    );
    if (outcome.event) this.notifier.notify(outcome.event);
    return { request_id: outcome.id, accepted: outcome.accepted };
  }

  async incoming(selfId: number): Promise<IncomingRequest[]> {
    const rows = await listPendingIncoming(this.db, selfId, LIST_CAP);
    return rows.map((r) => ({ id: Number(r.request_id), from: toPublicUser(r), channel: r.channel, reason: r.reason, created_at: Number(r.created_at) }));
  }

  /** Accepts (writes both sides in one transaction) or rejects a pending request addressed to us. */
  async handle(selfId: number, by: { requestId?: number; fromUid?: number }, accept: boolean): Promise<void> {
    const now = this.clock();
    const event = await transact(this.db, async (trx) => {
      const row = await findPendingIncomingForUpdate(trx, selfId, by);
      if (!row) throw new AppError('friend_request_not_found');
      await setRequestStatus(trx, row.id, accept ? RequestStatus.Accepted : RequestStatus.Rejected, now);
      if (!accept) return undefined;
      const requester = Number(row.from_uid);
      await insertFriendship(trx, selfId, requester, now);
      await setFriendConversationClosed(trx, selfId, requester, false);
      await this.webhooks.record(trx, 'friend.accepted', orderKey.friends(selfId, requester), { user_id: selfId, friend_id: requester });
      return recordUserEvent(trx, requester, userEventFrame(Cmd.FriendAccepted, selfId, requester), now);
    });
    if (event) this.notifier.notify(event);
  }

  async list(selfId: number): Promise<PublicUser[]> {
    return (await listFriends(this.db, selfId, LIST_CAP)).map(toPublicUser);
  }

  /**
   * Ends the friendship on both sides, and closes their conversation in the same transaction: a
   * message the service let through just before is refused by the writer (403) unless it was
   * stored first.
   */
  async remove(selfId: number, friendId: number): Promise<void> {
    const deleted = await transact(this.db, async (trx) => {
      const rows = await deleteFriendship(trx, selfId, friendId);
      if (rows > 0) {
        await setFriendConversationClosed(trx, selfId, friendId, true);
        await this.webhooks.record(trx, 'friend.removed', orderKey.friends(selfId, friendId), { user_id: selfId, friend_id: friendId });
      }
      return rows;
    });
    this.friendships.forget(selfId, friendId);
    if (deleted === 0) throw new AppError('not_friends');
    for (const listener of this.endedListeners) listener(selfId, friendId);
  }

  /** Hears each friendship ended here, once committed (the node tells the other nodes). */
  onEnded(listener: (a: number, b: number) => void): void {
    this.endedListeners.push(listener);
  }

  /** A friendship that ended on another node: messages between the two are refused from now on. */
  forgetFriendship(a: number, b: number): void {
    this.friendships.forget(a, b);
  }

  /** Drops every cached friendship (this node may have missed another's unfriending). */
  forgetAllFriendships(): void {
    this.friendships.forgetAll();
  }

  /** Whether two users are friends (messages between them are allowed); cached briefly. */
  areFriends(a: number, b: number): Promise<boolean> {
    return this.friendships.areFriends(a, b);
  }
}
