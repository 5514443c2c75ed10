import type { Kysely } from 'kysely';
import { tableEnd, withId } from '../src/db/migration-kit.js';

/** Accounts: credentials, profile, real-name verification and last reported location. */
export async function up(db: Kysely<any>): Promise<void> {
  const table = withId(db, db.schema.createTable('users'))
    .addColumn('username', 'varchar(20)', (c) => c.notNull())
    .addColumn('password_hash', 'varchar(72)', (c) => c.notNull())
    .addColumn('nickname', 'varchar(40)', (c) => c.notNull())
    .addColumn('avatar', 'varchar(512)', (c) => c.notNull().defaultTo(''))
    .addColumn('sex', 'smallint', (c) => c.notNull().defaultTo(0))
    .addColumn('real_name', 'varchar(40)')
    .addColumn('id_card_hmac', 'char(64)')
    .addColumn('id_card_masked', 'varchar(18)')
    .addColumn('realname_verified_at', 'bigint')
    .addColumn('longitude', 'double precision')
    .addColumn('latitude', 'double precision')
    .addColumn('location_updated_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull());
  await tableEnd(db, table).execute();
  // Login and register look users up by username; one verified account per ID card.
  await db.schema.createIndex('users_username_uq').on('users').column('username').unique().execute();
  await db.schema.createIndex('users_id_card_hmac_uq').on('users').column('id_card_hmac').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('users').execute();
}
