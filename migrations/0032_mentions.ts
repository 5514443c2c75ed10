import type { Kysely } from 'kysely';
import { idType, tableEnd } from '../src/db/migration-kit.js';

/**
 * Mentions in group messages. `messages.mentions`: what the message mentions as its frames carry
 * it (a JSON array of user ids, or `all`). `message_mentions`: one row per mentioned user per
 * message (user 0: `all`, one row whatever the group's size), keyed for "is this user mentioned in
 * this conversation after their read cursor", which the conversation list asks.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('mentions', 'varchar(1000)').execute();
  await tableEnd(
    db,
    db.schema
      .createTable('message_mentions')
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('conversation_id', idType(db), (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_mentions_pk', ['user_id', 'conversation_id', 'seq']),
  ).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('message_mentions').execute();
  await db.schema.alterTable('messages').dropColumn('mentions').execute();
}
