import type { Kysely } from 'kysely';
import { idType, tableEnd } from '../src/db/migration-kit.js';

/**
 * What "never miss a message" needs: a withdraw takes the next seq of its conversation
 * (`withdraw_seq`), so a conversation is one gap-free stream of messages and withdraws; per-user
 * events (friend and group notifications) get a gap-free per-user seq (`users.event_seq`);
 * members remember the seq their group was at when they joined; read cursors are one integer
 * per member and conversation.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('messages').addColumn('withdraw_seq', 'bigint').execute();
  await db.schema.createIndex('messages_conversation_withdraw_idx').on('messages').columns(['conversation_id', 'withdraw_seq']).execute();
  await db.schema.alterTable('users').addColumn('event_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('group_members').addColumn('joined_seq', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.createIndex('conversations_user_lo_idx').on('conversations').column('user_lo').execute();
  await db.schema.createIndex('conversations_user_hi_idx').on('conversations').column('user_hi').execute();
  await db.schema.createIndex('conversations_group_idx').on('conversations').column('group_id').execute();

  await tableEnd(
    db,
    db.schema
      .createTable('user_events')
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('cmd', 'smallint', (c) => c.notNull())
      .addColumn('from_id', idType(db), (c) => c.notNull())
      .addColumn('to_id', idType(db), (c) => c.notNull())
      .addColumn('ope', 'smallint', (c) => c.notNull())
      .addColumn('body', 'varchar(400)', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('user_events_pk', ['user_id', 'seq']),
  ).execute();

  await tableEnd(
    db,
    db.schema
      .createTable('read_cursors')
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('conversation_id', idType(db), (c) => c.notNull())
      .addColumn('read_seq', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('read_cursors_pk', ['user_id', 'conversation_id']),
  ).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('read_cursors').execute();
  await db.schema.dropTable('user_events').execute();
  await db.schema.dropIndex('conversations_group_idx').on('conversations').execute();
  await db.schema.dropIndex('conversations_user_hi_idx').on('conversations').execute();
  await db.schema.dropIndex('conversations_user_lo_idx').on('conversations').execute();
  await db.schema.alterTable('group_members').dropColumn('joined_seq').execute();
  await db.schema.alterTable('users').dropColumn('event_seq').execute();
  await db.schema.dropIndex('messages_conversation_withdraw_idx').on('messages').execute();
  await db.schema.alterTable('messages').dropColumn('withdraw_seq').execute();
}
