import type { Kysely } from 'kysely';
import { idType, tableEnd } from '../src/db/migration-kit.js';

/** Revoked JWTs (by jti) until they would have expired anyway; pruned by expires_at. */
export async function up(db: Kysely<any>): Promise<void> {
  const table = db.schema
    .createTable('token_revocations')
    .addColumn('jti', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('user_id', idType(db), (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull());
  await tableEnd(db, table).execute();
  await db.schema.createIndex('token_revocations_expires_at_idx').on('token_revocations').column('expires_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('token_revocations').execute();
}
