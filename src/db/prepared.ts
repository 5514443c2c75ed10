import type { CompiledQuery } from 'kysely';
import type { ExecuteValues, Pool } from 'mysql2';
import type { Executor } from './database.js';

/** Runs one statement's SQL text with its parameters and gives its rows. */
export type StatementRunner = (sql: string, parameters: readonly unknown[]) => Promise<unknown[]>;

const runners = new WeakMap<object, StatementRunner>();

/**
 * Gives a Kysely instance a runner for its hot read statements (`executeRows`), which then skip
 * Kysely's executor (its connection provider and result handling) and go straight to the
 * connection. Only for instances without plugins, whose rows Kysely would hand back as they are.
 */
export function registerRunner(db: object, run: StatementRunner): void {
  runners.set(db, run);
}

/** The runner registered for `db`, if any. */
export function runnerOf(db: object): StatementRunner | undefined {
  return runners.get(db);
}

/**
 * MySQL: a runner of statements as server-side prepared statements (mysql2 `execute`: prepared
 * once per connection and SQL text, then sent with binary parameters and answered with binary
 * rows), for a hot statement of a few fixed shapes. Kysely sends every query as text, which
 * MariaDB parses and plans each time and answers with numbers formatted as text; for the nearby
 * statement, prepared cost `mariadbd` 205–225 µs a query instead of 300–335, and the node 171–215
 * µs instead of 222–409 (100k users, same rows). Not for statements whose text varies from call
 * to call (batch inserts of any size): each new text costs a prepare round trip.
 */
export function preparedRunner(pool: Pool): StatementRunner {
  return (sql, parameters) =>
    new Promise((resolve, reject) => {
      pool.execute(sql, parameters as ExecuteValues[], (err, rows) => (err ? reject(err) : resolve(rows as unknown[])));
    });
}

/**
 * The rows of a compiled query: through the runner registered for `db` (a MySQL pool's prepared
 * statements, the SQLite reader thread), else through Kysely as usual (a transaction, SQLite on
 * the event loop, a handle not opened by openDatabase).
 */
export async function executeRows<R>(db: Executor, compiled: CompiledQuery<R>): Promise<R[]> {
  const run = runnerOf(db);
  return run ? ((await run(compiled.sql, compiled.parameters)) as R[]) : (await db.executeQuery(compiled)).rows;
}
