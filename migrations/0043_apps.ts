import type { Kysely } from 'kysely';
import { tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * `apps`: the tenants of the realtime gateway (docs/gateway.md). Each app's connections, channels
 * and user ids are a namespace of their own; `app_key` is what its backend and its clients name it
 * by (woodylan's systemId, xlvein's app_id), `secret` signs its backend's calls and its clients'
 * tokens; `api` the answers of /api/* (`woodylan`, or `goravel-socket`'s). Apps listed in the config
 * (`apps.list`) are written here at start.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    withId(db, db.schema.createTable('apps'))
      .addColumn('app_key', 'varchar(64)', (c) => c.notNull())
      .addColumn('name', 'varchar(100)', (c) => c.notNull())
      .addColumn('secret', 'varchar(255)', (c) => c.notNull())
      .addColumn('enabled', 'smallint', (c) => c.notNull().defaultTo(1))
      .addColumn('api', 'varchar(20)', (c) => c.notNull().defaultTo('woodylan'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('apps_key_uq').on('apps').column('app_key').unique().execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('apps').execute();
}
