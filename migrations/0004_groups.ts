import type { Kysely } from 'kysely';
import { idType, tableEnd, withId } from '../src/db/migration-kit.js';

/** Groups, their members (unique per group and user) and join requests (one row per group and applicant). */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    withId(db, db.schema.createTable('groups'))
      .addColumn('name', 'varchar(30)', (c) => c.notNull())
      .addColumn('owner_id', idType(db), (c) => c.notNull())
      .addColumn('member_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('groups_owner_idx').on('groups').column('owner_id').execute();

  await tableEnd(
    db,
    db.schema
      .createTable('group_members')
      .addColumn('group_id', idType(db), (c) => c.notNull())
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('role', 'smallint', (c) => c.notNull().defaultTo(0))
      .addColumn('joined_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'user_id']),
  ).execute();
  await db.schema.createIndex('group_members_user_idx').on('group_members').columns(['user_id', 'group_id']).execute();

  await tableEnd(
    db,
    withId(db, db.schema.createTable('group_join_requests'))
      .addColumn('group_id', idType(db), (c) => c.notNull())
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('reason', 'varchar(200)', (c) => c.notNull().defaultTo(''))
      .addColumn('status', 'smallint', (c) => c.notNull().defaultTo(0))
      .addColumn('handled_by', idType(db))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('group_join_requests_pair_uq').on('group_join_requests').columns(['group_id', 'user_id']).unique().execute();
  await db.schema.createIndex('group_join_requests_status_idx').on('group_join_requests').columns(['group_id', 'status', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('group_join_requests').execute();
  await db.schema.dropTable('group_members').execute();
  await db.schema.dropTable('groups').execute();
}
