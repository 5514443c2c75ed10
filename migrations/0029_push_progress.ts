import type { Kysely } from 'kysely';
import { idType, tableEnd } from '../src/db/migration-kit.js';

/**
 * `push_progress`: how far a push API operation (one `Idempotency-Key`) got. `/push/users` stores
 * its users in ascending id order, a batch to a transaction, and each batch moves `done_through`
 * to its last user in the same transaction, so a retry after a failure midway skips exactly the
 * users already pushed. Rows are pruned by `created_at` once their key has expired.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    db.schema
      .createTable('push_progress')
      .addColumn('op', 'varchar(32)', (c) => c.primaryKey())
      .addColumn('done_through', idType(db), (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('push_progress_created_at_idx').on('push_progress').column('created_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('push_progress').execute();
}
