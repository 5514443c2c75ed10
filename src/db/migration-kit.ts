import { type CreateTableBuilder, type Kysely, MysqlAdapter, sql } from 'kysely';

/**
 * Helpers for migrations that must produce valid DDL on SQLite and on MySQL 8 / MariaDB 10.11.
 * Migrations branch on the dialect here instead of keeping two files per change.
 */
export type Dialect = 'mysql' | 'sqlite';

export function dialectOf(db: Kysely<any>): Dialect {
  return db.getExecutor().adapter instanceof MysqlAdapter ? 'mysql' : 'sqlite';
}

/** `id` auto-increment primary key: BIGINT UNSIGNED on MySQL, INTEGER on SQLite (rowid alias). */
export function withId<T extends string>(db: Kysely<any>, table: CreateTableBuilder<T, never>) {
  return dialectOf(db) === 'mysql'
    ? table.addColumn('id', 'bigint', (c) => c.unsigned().autoIncrement().primaryKey())
    : table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement());
}

/** A reference to another table's id (same width as `withId`). */
export function idType(db: Kysely<any>) {
  return dialectOf(db) === 'mysql' ? sql`bigint unsigned` : sql`integer`;
}

/** Table options: InnoDB, utf8mb4 on MySQL; nothing on SQLite. */
export function tableEnd<T extends string, C extends string>(db: Kysely<any>, table: CreateTableBuilder<T, C>) {
  return dialectOf(db) === 'mysql'
    ? table.modifyEnd(sql`engine=InnoDB default charset=utf8mb4 collate=utf8mb4_unicode_ci`)
    : table;
}


/** Drops an index: MySQL names its table, SQLite refuses the clause. */
export async function dropIndex(db: Kysely<any>, table: string, name: string): Promise<void> {
  const drop = db.schema.dropIndex(name);
  await (dialectOf(db) === 'mysql' ? drop.on(table) : drop).execute();
}
