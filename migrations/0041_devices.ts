import type { Kysely } from 'kysely';
import { idType, tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * Offline push: `devices`, a user's push tokens (one row per provider and token; a token registered
 * by another user moves to them), and `users.push_previews` (0: notifications say "New message"
 * instead of the text).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    withId(db, db.schema.createTable('devices'))
      .addColumn('user_id', idType(db), (c) => c.notNull())
      .addColumn('platform', 'varchar(16)', (c) => c.notNull())
      .addColumn('token', 'varchar(255)', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('devices_token_uq').on('devices').columns(['platform', 'token']).unique().execute();
  await db.schema.createIndex('devices_user_idx').on('devices').column('user_id').execute();
  await db.schema.alterTable('users').addColumn('push_previews', 'smallint', (c) => c.notNull().defaultTo(1)).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').dropColumn('push_previews').execute();
  await db.schema.dropTable('devices').execute();
}
