import type { Kysely } from 'kysely';

/**
 * `users.sessions_valid_after` (epoch ms): tokens issued before it are refused. Ending every
 * session of a user (`/logout/all`, the push API's `/push/logout`) moves it to now, where
 * revoking each token would need a list of tokens that JWTs do not keep.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('sessions_valid_after', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('sessions_valid_after').execute();
}
