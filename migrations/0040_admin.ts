import type { Kysely } from 'kysely';
import { idType, tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * The admin API: `users.banned_at` (null: not banned) and `users.ban_reason` (told at login), and
 * `admin_audit`, one row per admin action.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('banned_at', 'bigint').execute();
  await db.schema.alterTable('users').addColumn('ban_reason', 'varchar(200)', (c) => c.notNull().defaultTo('')).execute();
  await tableEnd(
    db,
    withId(db, db.schema.createTable('admin_audit'))
      .addColumn('action', 'varchar(32)', (c) => c.notNull())
      .addColumn('target_id', idType(db), (c) => c.notNull())
      .addColumn('detail', 'text', (c) => c.notNull())
      .addColumn('ip', 'varchar(64)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull()),
  ).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('admin_audit').execute();
  await db.schema.alterTable('users').dropColumn('ban_reason').execute();
  await db.schema.alterTable('users').dropColumn('banned_at').execute();
}
