import { type Kysely, sql } from 'kysely';
import { dialectOf, idType, tableEnd } from '../src/db/migration-kit.js';

/**
 * Reactions. `message_reactions`: who reacted to a message with what (one row per user, message
 * and emoji), counted for history. `reaction_events`: each change (on or off) is an event of the
 * message's conversation stream at a seq of its own, replayed in order by sync (Cmd 30).
 */
export async function up(db: Kysely<any>): Promise<void> {
  // An emoji is one grapheme: up to 16 code points (ZWJ sequences, flags, skin tones); bytes compare.
  const emoji = dialectOf(db) === 'mysql' ? sql`varchar(64) character set utf8mb4 collate utf8mb4_bin` : sql`varchar(64)`;
  await tableEnd(
    db,
    db.schema
      .createTable('message_reactions')
      .addColumn('message_id', idType(db), (c) => c.notNull())
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('emoji', emoji, (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('message_reactions_pk', ['message_id', 'emoji', 'user_id']),
  ).execute();
  await tableEnd(
    db,
    db.schema
      .createTable('reaction_events')
      .addColumn('conversation_id', idType(db), (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('message_id', idType(db), (c) => c.notNull())
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('emoji', emoji, (c) => c.notNull())
      .addColumn('on', 'smallint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('reaction_events_pk', ['conversation_id', 'seq']),
  ).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('reaction_events').execute();
  await db.schema.dropTable('message_reactions').execute();
}
