import { type Kysely, sql } from 'kysely';
import { dialectOf, idType, tableEnd, withId } from '../src/db/migration-kit.js';

/**
 * One row per stored upload (chat attachment or avatar): who stored what, where and when, so
 * storage can be audited and per-user quotas computed. Numbered 0010 to stay clear of 0003–0009.
 */
export async function up(db: Kysely<any>): Promise<void> {
  // Keys are case-sensitive ASCII (base64url); MariaDB's default collation would compare them without case.
  const keyType = dialectOf(db) === 'mysql' ? sql`varchar(255) character set ascii collate ascii_bin` : sql`varchar(255)`;
  const table = withId(db, db.schema.createTable('uploads'))
    .addColumn('user_id', idType(db), (c) => c.notNull())
    .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
    .addColumn('type', 'smallint', (c) => c.notNull())
    .addColumn('store', 'varchar(16)', (c) => c.notNull())
    .addColumn('object_key', keyType, (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('mime', 'varchar(100)', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull());
  await tableEnd(db, table).execute();
  // Downloads look a key up; audits and quotas read one user's uploads by time.
  await db.schema.createIndex('uploads_object_key_uq').on('uploads').column('object_key').unique().execute();
  await db.schema.createIndex('uploads_user_created_idx').on('uploads').columns(['user_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('uploads').execute();
}
