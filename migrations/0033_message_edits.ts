import type { Kysely } from 'kysely';
import { idType, tableEnd } from '../src/db/migration-kit.js';

/**
 * Message edits. `messages.edited_at`: when its body was last edited (null: never). `message_edits`:
 * each edit is an event of its conversation's stream at a seq of its own (as a withdraw is), so the
 * stream stays gap-free however often a message is edited, and a sync replays every edit in order;
 * a withdraw blanks the message's edits too (index on message_id).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('edited_at', 'bigint').execute();
  await tableEnd(
    db,
    db.schema
      .createTable('message_edits')
      .addColumn('conversation_id', idType(db), (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('message_id', idType(db), (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('edited_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_edits_pk', ['conversation_id', 'seq']),
  ).execute();
  await db.schema.createIndex('message_edits_message_idx').on('message_edits').column('message_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('message_edits').execute();
  await db.schema.alterTable('messages').dropColumn('edited_at').execute();
}
