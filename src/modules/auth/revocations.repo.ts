import type { Executor } from '../../db/database.js';
import { executeRows } from '../../db/prepared.js';
import { shapedQuery } from '../../db/shaped-query.js';

export async function insertRevocation(db: Executor, row: { jti: string; user_id: number; expires_at: number }): Promise<void> {
  await db.insertInto('token_revocations').values(row).orIgnore().execute();
}

/**
 * Whether a token is still good, in one query: not revoked itself, and issued (`issuedAtMs`) after
 * its user last ended every session. False for a user that does not exist.
 */
export async function sessionValid(db: Executor, jti: string, userId: number, issuedAtMs: number): Promise<boolean> {
  // Once a sign-in (a reconnect storm: thousands a second): built once, prepared on MySQL (prepared.ts).
  const [row] = await executeRows(db, shapedQuery(db, 'session-valid', { jti, userId }, (p) => db
    .selectFrom('users')
    .select((eb) => ['sessions_valid_after', 'banned_at', eb.exists(eb.selectFrom('token_revocations').select('jti').where('jti', '=', p.jti)).as('revoked')])
    .where('id', '=', p.userId)
    .compile()));
  return stillValid(row, Boolean(Number(row?.revoked)), issuedAtMs);
}

/** What decides whether a session is still good: its user's row (undefined: gone) and its revocation. */
function stillValid(user: { sessions_valid_after: number; banned_at: number | null } | undefined, revoked: boolean, issuedAtMs: number): boolean {
  // A banned user's tokens are refused whenever they were issued (one issued while the ban was
  // being written, or refreshed since, included).
  return user !== undefined && !revoked && user.banned_at === null && issuedAtMs >= Number(user.sessions_valid_after);
}

/**
 * `sessionValid` for many sessions (a reconnect storm signs in thousands a second): two
 * statements per 500, whatever their number; one session alone takes the prepared statement.
 */
export async function sessionsValid(db: Executor, sessions: readonly HeldSession[]): Promise<boolean[]> {
  if (sessions.length === 1) return [await sessionValid(db, sessions[0]!.jti, sessions[0]!.userId, sessions[0]!.issuedAtMs)];
  const valid: boolean[] = [];
  for await (const { chunk, users, revoked } of sessionMarks(db, sessions)) {
    for (const s of chunk) valid.push(stillValid(users.get(s.userId), revoked.has(s.jti), s.issuedAtMs));
  }
  return valid;
}

/** Ends every session of a user issued before `now` (epoch ms); never moves the mark back. */
export async function endSessionsBefore(db: Executor, userId: number, now: number): Promise<boolean> {
  const result = await db.updateTable('users').set({ sessions_valid_after: now }).where('id', '=', userId).where('sessions_valid_after', '<', now).executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return true;
  return (await db.selectFrom('users').select('id').where('id', '=', userId).executeTakeFirst()) !== undefined;
}

/** A signed-in session as the gateway holds it. */
export interface HeldSession {
  jti: string;
  userId: number;
  issuedAtMs: number;
}

/** The jtis of those sessions that ended: revoked, or issued before their user ended every session (500 to a query). */
export async function endedAmong(db: Executor, sessions: readonly HeldSession[]): Promise<Set<string>> {
  const ended = new Set<string>();
  for await (const { chunk, users, revoked } of sessionMarks(db, sessions)) {
    for (const s of chunk) {
      if (revoked.has(s.jti) || s.issuedAtMs < Number(users.get(s.userId)?.sessions_valid_after ?? Number.MAX_SAFE_INTEGER)) ended.add(s.jti);
    }
  }
  return ended;
}

/** The sessions 500 at a time, each chunk with its users' rows (by id) and which of its tokens are revoked: two statements a chunk. */
async function* sessionMarks(db: Executor, sessions: readonly HeldSession[]) {
  for (let i = 0; i < sessions.length; i += 500) {
    const chunk = sessions.slice(i, i + 500);
    const [users, revoked] = await Promise.all([
      db.selectFrom('users').select(['id', 'sessions_valid_after', 'banned_at']).where('id', 'in', [...new Set(chunk.map((s) => s.userId))]).execute(),
      db.selectFrom('token_revocations').select('jti').where('jti', 'in', chunk.map((s) => s.jti)).execute(),
    ]);
    yield { chunk, users: new Map(users.map((u) => [Number(u.id), u])), revoked: new Set(revoked.map((r) => r.jti)) };
  }
}

/** Deletes revocations of tokens that have expired by `now`; returns how many. */
export async function pruneRevocations(db: Executor, now: number): Promise<number> {
  const result = await db.deleteFrom('token_revocations').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
