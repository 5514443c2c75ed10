import type { Kysely } from 'kysely';
import { idType, tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * Conversations (a friend pair or a group) carry the per-conversation sequence counter; messages
 * are stored once per conversation (a group message is one row, not one per member) with a
 * gap-free `seq` and an optional client id that makes a resend idempotent.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    withId(db, db.schema.createTable('conversations'))
      .addColumn('conv_key', 'varchar(48)', (c) => c.notNull())
      .addColumn('kind', 'smallint', (c) => c.notNull())
      .addColumn('user_lo', idType(db))
      .addColumn('user_hi', idType(db))
      .addColumn('group_id', idType(db))
      .addColumn('last_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('last_message_at', 'bigint', (c) => c.notNull().defaultTo(0)),
  ).execute();
  await db.schema.createIndex('conversations_key_uq').on('conversations').column('conv_key').unique().execute();

  await tableEnd(
    db,
    withId(db, db.schema.createTable('messages'))
      .addColumn('conversation_id', idType(db), (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('sender_id', idType(db), (c) => c.notNull())
      .addColumn('ope', 'smallint', (c) => c.notNull())
      .addColumn('to_id', idType(db), (c) => c.notNull())
      .addColumn('type', 'smallint', (c) => c.notNull())
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('client_msg_id', 'varchar(64)')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('withdrawn_at', 'bigint'),
  ).execute();
  // History and sync read by (conversation, seq); idempotent resends look up (sender, client id).
  await db.schema.createIndex('messages_conversation_seq_uq').on('messages').columns(['conversation_id', 'seq']).unique().execute();
  await db.schema.createIndex('messages_sender_client_uq').on('messages').columns(['sender_id', 'client_msg_id']).unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('messages').execute();
  await db.schema.dropTable('conversations').execute();
}
