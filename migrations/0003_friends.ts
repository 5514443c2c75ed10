import type { Kysely } from 'kysely';
import { idType, tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * Friendships (one row per direction, so "my friends" is a primary-key range) and friend
 * requests (one row per unordered pair: concurrent A→B and B→A requests collide on the unique
 * key instead of both succeeding).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    db.schema
      .createTable('friends')
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('friend_id', idType(db), (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('friends_pk', ['user_id', 'friend_id']),
  ).execute();

  await tableEnd(
    db,
    withId(db, db.schema.createTable('friend_requests'))
      .addColumn('user_lo', idType(db), (c) => c.notNull())
      .addColumn('user_hi', idType(db), (c) => c.notNull())
      .addColumn('from_uid', idType(db), (c) => c.notNull())
      .addColumn('to_uid', idType(db), (c) => c.notNull())
      .addColumn('channel', 'varchar(32)', (c) => c.notNull().defaultTo(''))
      .addColumn('reason', 'varchar(200)', (c) => c.notNull().defaultTo(''))
      .addColumn('status', 'smallint', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('friend_requests_pair_uq').on('friend_requests').columns(['user_lo', 'user_hi']).unique().execute();
  await db.schema.createIndex('friend_requests_to_status_idx').on('friend_requests').columns(['to_uid', 'status', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('friend_requests').execute();
  await db.schema.dropTable('friends').execute();
}
