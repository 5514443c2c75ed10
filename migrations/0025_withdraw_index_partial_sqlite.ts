import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../src/db/migration-kit.js';

/**
 * SQLite only: the index (conversation_id, withdraw_seq) of 0006 held an entry for every message,
 * although only withdrawn ones have a withdraw_seq. Each stored message therefore wrote one more
 * randomly placed index page. It becomes a partial index of withdrawn messages; sync's
 * `withdraw_seq > ? AND withdraw_seq <= ?` implies IS NOT NULL, so SQLite still uses it. MySQL has
 * no partial indexes and keeps its own.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'mysql') return;
  await db.schema.dropIndex('messages_conversation_withdraw_idx').execute();
  await sql`create index messages_conversation_withdraw_idx on messages (conversation_id, withdraw_seq) where withdraw_seq is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'mysql') return;
  await db.schema.dropIndex('messages_conversation_withdraw_idx').execute();
  await db.schema.createIndex('messages_conversation_withdraw_idx').on('messages').columns(['conversation_id', 'withdraw_seq']).execute();
}
