import type { Kysely } from 'kysely';
import { dialectOf } from '../src/db/migration-kit.js';

/**
 * Read receipts (`/im/chat/receipts`) count a conversation's read cursors at or past a seq: an
 * index on (conversation_id, read_seq) answers that from the cursors that passed it, without a
 * row per member per message and without reading the whole member list's cursors one by one.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('read_cursors_conversation_seq_idx').on('read_cursors').columns(['conversation_id', 'read_seq']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  const drop = db.schema.dropIndex('read_cursors_conversation_seq_idx');
  await (dialectOf(db) === 'mysql' ? drop.on('read_cursors') : drop).execute();
}
