import type { Executor } from '../../db/database.js';
import { executeRows } from '../../db/prepared.js';
import { shapedQuery } from '../../db/shaped-query.js';
import type { StoredUserEventFrame, UserEventFrame } from '../../notify/frames.js';
import type { Notification } from '../../notify/notifier.js';

/** What `user_events.body` holds (migration 0026; a pushed Body is capped to it). */
export const EVENT_BODY_CHARS = 4000;

/**
 * Appends a notification to `userId`'s event stream inside the caller's transaction and returns
 * it ready to push after commit. The user row is the per-user sequence counter: its row lock
 * (MySQL) orders concurrent events, so seqs are gap-free and committed in order.
 */
export async function recordUserEvent(db: Executor, userId: number, frame: UserEventFrame, now: number): Promise<Notification> {
  await db.updateTable('users').set((eb) => ({ event_seq: eb('event_seq', '+', 1) })).where('id', '=', userId).execute();
  const { event_seq } = await db.selectFrom('users').select('event_seq').where('id', '=', userId).executeTakeFirstOrThrow();
  const seq = Number(event_seq);
  await db
    .insertInto('user_events')
    .values({ user_id: userId, seq, cmd: frame.Cmd, from_id: frame.FromId, to_id: frame.ToId, ope: frame.Ope, body: upTo(frame.Body, EVENT_BODY_CHARS), created_at: now })
    .execute();
  return { userIds: [userId], frame: { ...frame, EventSeq: seq, Time: now } as StoredUserEventFrame, stream: { key: 'e', seq } };
}

export async function userEventsAfter(db: Executor, userId: number, after: number, limit: number) {
  // Read by every sync: built once, prepared on MySQL (prepared.ts).
  return executeRows(db, shapedQuery(db, 'user-events-after', { userId, after, limit }, (p) =>
    db.selectFrom('user_events').selectAll().where('user_id', '=', p.userId).where('seq', '>', p.after).orderBy('seq').limit(p.limit).compile()));
}

export async function lastUserEventSeq(db: Executor, userId: number): Promise<number> {
  const row = await db.selectFrom('users').select('event_seq').where('id', '=', userId).executeTakeFirst();
  return Number(row?.event_seq ?? 0);
}

/** The first `max` characters (code points, as MySQL counts them; never half a surrogate pair). */
function upTo(text: string, max: number): string {
  if (text.length <= max) return text;
  return [...text].slice(0, max).join('');
}
