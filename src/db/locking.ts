import { type SelectQueryBuilder, sql } from 'kysely';
import type { Executor } from './database.js';
import { dialectOf } from './migration-kit.js';

/**
 * `SELECT … FOR UPDATE` on MySQL/MariaDB; unchanged on SQLite, which has no row locks and
 * serialises writers (Kysely runs SQLite transactions on its single connection one at a time).
 */
export function forUpdate<DB, TB extends keyof DB, O>(db: Executor, query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
  return dialectOf(db) === 'mysql' ? query.forUpdate() : query;
}

/**
 * `SELECT … LOCK IN SHARE MODE` on MySQL/MariaDB (MariaDB has no `FOR SHARE`): reads the rows as
 * last committed, waiting for a transaction that is changing them, and keeps them from changing
 * until this transaction ends. Unchanged on SQLite, which serialises writers.
 */
export function forShare<DB, TB extends keyof DB, O>(db: Executor, query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O> {
  return dialectOf(db) === 'mysql' ? query.modifyEnd(sql`lock in share mode`) : query;
}
