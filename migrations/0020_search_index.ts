import { type Kysely, sql } from 'kysely';
import { dialectOf, idType, tableEnd, withId } from '../src/db/migration-kit.js';

/** Binary (exact, case-sensitive) text on MySQL, so grams compare as JavaScript lower-cased them. */
function binaryText(db: Kysely<any>, length: number) {
  return dialectOf(db) === 'mysql' ? sql`varchar(${sql.raw(String(length))}) character set utf8mb4 collate utf8mb4_bin` : sql`varchar(${sql.raw(String(length))})`;
}

/**
 * The SQL search index: one normalised text per user or group (`search_docs`, for the exact
 * substring check) and its character bigrams and trigrams (`search_grams`, walked in entity order to find
 * candidates). `search_outbox` holds index updates waiting for delivery to Elasticsearch.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await tableEnd(
    db,
    db.schema
      .createTable('search_docs')
      .addColumn('kind', 'smallint', (c) => c.notNull())
      .addColumn('entity_id', idType(db), (c) => c.notNull())
      .addColumn('text', binaryText(db, 64), (c) => c.notNull())
      .addPrimaryKeyConstraint('search_docs_pk', ['kind', 'entity_id']),
  ).execute();
  await tableEnd(
    db,
    db.schema
      .createTable('search_grams')
      .addColumn('kind', 'smallint', (c) => c.notNull())
      // varbinary on MySQL: binary *collations* there pad with spaces, so 'ab ' would equal 'ab'.
      .addColumn('gram', dialectOf(db) === 'mysql' ? sql`varbinary(12)` : sql`varchar(3)`, (c) => c.notNull())
      .addColumn('entity_id', idType(db), (c) => c.notNull())
      .addPrimaryKeyConstraint('search_grams_pk', ['kind', 'gram', 'entity_id']),
  ).execute();
  await tableEnd(
    db,
    withId(db, db.schema.createTable('search_outbox'))
      .addColumn('kind', 'smallint', (c) => c.notNull())
      .addColumn('entity_id', idType(db), (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull()),
  ).execute();
  await db.schema.createIndex('search_outbox_due_idx').on('search_outbox').columns(['next_attempt_at', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('search_outbox').execute();
  await db.schema.dropTable('search_grams').execute();
  await db.schema.dropTable('search_docs').execute();
}
