import type { Executor } from '../../db/database.js';

export async function insertRevocation(db: Executor, row: { jti: string; user_id: number; expires_at: number }): Promise<void> {
  await db.insertInto('token_revocations').values(row).orIgnore().execute();
}

export async function isRevoked(db: Executor, jti: string): Promise<boolean> {
  const row = await db.selectFrom('token_revocations').select('jti').where('jti', '=', jti).executeTakeFirst();
  return row !== undefined;
}

/** Which of `jtis` are revoked (500 to a query). */
export async function revokedAmong(db: Executor, jtis: readonly string[]): Promise<Set<string>> {
  const revoked = new Set<string>();
  for (let i = 0; i < jtis.length; i += 500) {
    const rows = await db.selectFrom('token_revocations').select('jti').where('jti', 'in', jtis.slice(i, i + 500)).execute();
    for (const row of rows) revoked.add(row.jti);
  }
  return revoked;
}

/** Deletes revocations of tokens that have expired by `now`; returns how many. */
export async function pruneRevocations(db: Executor, now: number): Promise<number> {
  const result = await db.deleteFrom('token_revocations').where('expires_at', '<', now).executeTakeFirst();
  return Number(result.numDeletedRows);
}
