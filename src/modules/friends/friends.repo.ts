import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { executeRows } from '../../db/prepared.js';
import { shapedQuery } from '../../db/shaped-query.js';
import { forUpdate } from '../../db/locking.js';
import { RequestStatus } from './friends.table.js';

const publicColumns = ['users.id', 'users.username', 'users.nickname', 'users.avatar', 'users.sex'] as const;

export async function areFriends(db: Executor, userId: number, friendId: number): Promise<boolean> {
  const row = await db.selectFrom('friends').select('user_id').where('user_id', '=', userId).where('friend_id', '=', friendId).executeTakeFirst();
  return row !== undefined;
}

/**
 * Which of these (user, friend) pairs are friends, as `${user}:${friend}` keys: one statement for
 * many pairs (each an exact primary-key probe).
 */
export async function friendPairsAmong(db: Executor, pairs: ReadonlyArray<readonly [number, number]>): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const rows = await db
    .selectFrom('friends')
    .select(['user_id', 'friend_id'])
    .where((eb) => eb.or(pairs.map(([user, friend]) => eb.and([eb('user_id', '=', user), eb('friend_id', '=', friend)]))))
    .execute();
  return new Set(rows.map((r) => `${Number(r.user_id)}:${Number(r.friend_id)}`));
}

/** Writes both directions; idempotent. */
export async function insertFriendship(db: Executor, a: number, b: number, now: number): Promise<void> {
  await db.insertInto('friends').values([
    { user_id: a, friend_id: b, created_at: now },
    { user_id: b, friend_id: a, created_at: now },
  ]).orIgnore().execute();
}

/** Deletes both directions; returns how many rows went (0 when they were not friends). */
export async function deleteFriendship(db: Executor, a: number, b: number): Promise<number> {
  const result = await db
    .deleteFrom('friends')
    .where((eb) => eb.or([
      eb.and([eb('user_id', '=', a), eb('friend_id', '=', b)]),
      eb.and([eb('user_id', '=', b), eb('friend_id', '=', a)]),
    ]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function listFriends(db: Executor, userId: number, limit: number) {
  return db
    .selectFrom('friends')
    .innerJoin('users', 'users.id', 'friends.friend_id')
    .select(publicColumns)
    .where('friends.user_id', '=', userId)
    .orderBy('friends.friend_id')
    .limit(limit)
    .execute();
}

/** The pair's request row, locked on MySQL for the rest of the transaction. */
export async function findPairRequestForUpdate(db: Executor, a: number, b: number) {
  const [lo, hi] = a < b ? [a, b] : [b, a];
  return forUpdate(db, db.selectFrom('friend_requests').selectAll().where('user_lo', '=', lo).where('user_hi', '=', hi)).executeTakeFirst();
}

/** Inserts the pair's first request; throws a unique violation if a concurrent one won. */
export async function insertRequest(db: Executor, r: { from: number; to: number; channel: string; reason: string; now: number }): Promise<number> {
  const [lo, hi] = r.from < r.to ? [r.from, r.to] : [r.to, r.from];
  const result = await db
    .insertInto('friend_requests')
    .values({ user_lo: lo, user_hi: hi, from_uid: r.from, to_uid: r.to, channel: r.channel, reason: r.reason, status: RequestStatus.Pending, created_at: r.now, updated_at: r.now })
    .executeTakeFirstOrThrow();
  return Number(result.insertId);
}

/** Reuses the pair's row for a new request in this direction. */
export async function renewRequest(db: Executor, id: number, r: { from: number; to: number; channel: string; reason: string; now: number }): Promise<void> {
  await db
    .updateTable('friend_requests')
    .set({ from_uid: r.from, to_uid: r.to, channel: r.channel, reason: r.reason, status: RequestStatus.Pending, created_at: r.now, updated_at: r.now })
    .where('id', '=', id)
    .execute();
}

export async function setRequestStatus(db: Executor, id: number, status: number, now: number): Promise<void> {
  await db.updateTable('friend_requests').set({ status, updated_at: now }).where('id', '=', id).execute();
}

/** A pending request addressed to `toUid`, by id or by requester; locked on MySQL. */
export async function findPendingIncomingForUpdate(db: Executor, toUid: number, by: { requestId?: number; fromUid?: number }) {
  let query = db.selectFrom('friend_requests').selectAll().where('to_uid', '=', toUid).where('status', '=', RequestStatus.Pending);
  if (by.requestId !== undefined) query = query.where('id', '=', by.requestId);
  if (by.fromUid !== undefined) query = query.where('from_uid', '=', by.fromUid);
  return forUpdate(db, query).executeTakeFirst();
}

export async function listPendingIncoming(db: Executor, toUid: number, limit: number) {
  return db
    .selectFrom('friend_requests')
    .innerJoin('users', 'users.id', 'friend_requests.from_uid')
    .select([...publicColumns, 'friend_requests.id as request_id', 'friend_requests.channel', 'friend_requests.reason', 'friend_requests.created_at'])
    .where('friend_requests.to_uid', '=', toUid)
    .where('friend_requests.status', '=', RequestStatus.Pending)
    .orderBy('friend_requests.id', 'desc')
    .limit(limit)
    .execute();
}

/** Users one statement of `friendIdsOfMany` reads the friends of. */
const FRIENDS_OF_MANY_CHUNK = 500;

/**
 * Ids of each user's friends, ascending, at most `limit` each: one statement per 500 users
 * (presence announces many at once when a node's sockets all close or sign in again).
 */
export async function friendIdsOfMany(db: Executor, userIds: readonly number[], limit: number): Promise<Map<number, number[]>> {
  const friends = new Map<number, number[]>(userIds.map((userId) => [userId, []]));
  if (userIds.length === 1) {
    friends.set(userIds[0]!, await friendIds(db, userIds[0]!, limit));
    return friends;
  }
  for (let i = 0; i < userIds.length; i += FRIENDS_OF_MANY_CHUNK) {
    const rows = await db
      .selectFrom((eb) => eb
        .selectFrom('friends')
        .select(['user_id', 'friend_id', sql<number>`row_number() over (partition by user_id order by friend_id)`.as('rank')])
        .where('user_id', 'in', userIds.slice(i, i + FRIENDS_OF_MANY_CHUNK))
        .as('ranked'))
      .select(['user_id', 'friend_id'])
      .where('rank', '<=', limit)
      .orderBy('user_id')
      .orderBy('friend_id')
      .execute();
    for (const row of rows) friends.get(Number(row.user_id))?.push(Number(row.friend_id));
  }
  return friends;
}

/** Ids of a user's friends, ascending, at most `limit`. */
export async function friendIds(db: Executor, userId: number, limit: number): Promise<number[]> {
  // Read at every sign-in and sign-out (presence): built once, prepared on MySQL (prepared.ts).
  const rows = await executeRows(db, shapedQuery(db, 'friend-ids', { userId, limit }, (p) =>
    db.selectFrom('friends').select('friend_id').where('user_id', '=', p.userId).orderBy('friend_id').limit(p.limit).compile()));
  return rows.map((r) => Number(r.friend_id));
}
