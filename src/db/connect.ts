import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, MysqlDialect, sql } from 'kysely';
import { createPool } from 'mysql2';
import { setBounded } from '../bounded-map.js';
import type { Config } from '../config.js';
import type { Database, Db } from './database.js';
import type { Dialect } from './migration-kit.js';
import { type Checkpointer, startCheckpointer } from './sqlite-checkpointer.js';
import { preparedRunner, registerRunner } from './prepared.js';
import { fairSqliteDialect } from './sqlite-fair-driver.js';
import { readerKysely, SqliteReader, SqliteReaderPool } from './sqlite-reader.js';

export interface DbOptions {
  dialect: Dialect;
  /** SQLite: file path or ':memory:'. MySQL: mysql:// URL. */
  location: string;
  poolSize?: number;
  /**
   * MySQL only. False: every pooled connection runs `SET autocommit = 0` when it is made, so the
   * first statement opens a transaction and the caller must end each with COMMIT or ROLLBACK.
   */
  autocommit?: boolean;
  /**
   * MySQL only. True: a query may hold several statements separated by `;` (parameters are still
   * escaped by the driver). Only for the writer's manual-commit handle, which sends a batch's last
   * statement and its COMMIT in one round trip.
   */
  multipleStatements?: boolean;
}

export interface DbHandle {
  db: Db;
  dialect: Dialect;
  /** What it was opened on (`DbOptions.location`): for a thread that opens connections of its own. */
  location: string;
  /** Cheap round trip used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * MySQL: a second handle on the same database with one connection and autocommit off (see
   * `DbOptions.autocommit`), for a writer that saves the BEGIN round trip, and that may send
   * several statements in one query (`DbOptions.multipleStatements`); the caller closes it.
   * Undefined on SQLite, where a BEGIN costs no round trip.
   */
  openManualCommit?(): DbHandle;
  /**
   * SQLite file databases: a handle for read-only queries whose connection lives on a worker
   * thread (see sqlite-reader.ts), so that they do not run on the event loop; with `threads` > 1,
   * on that many threads, each query to the next in turn. The caller closes it. Undefined for
   * MySQL (its queries run in the server anyway) and for `:memory:`.
   */
  openReader?(threads?: number): DbHandle;
}

/** Opens a Kysely instance over SQLite (better-sqlite3) or MySQL/MariaDB (mysql2 pool). */
export function openDatabase(options: DbOptions): DbHandle {
  const { db, checkpointer } = options.dialect === 'mysql' ? { db: openMysql(options), checkpointer: undefined } : openSqlite(options.location);
  return {
    db,
    dialect: options.dialect,
    location: options.location,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
    openManualCommit:
      options.dialect === 'mysql' ? () => openDatabase({ dialect: 'mysql', location: options.location, poolSize: 1, autocommit: false, multipleStatements: true }) : undefined,
    openReader: options.dialect === 'sqlite' && options.location !== ':memory:' ? (threads = 1) => openSqliteReader(options.location, threads) : undefined,
  };
}

function openSqlite(location: string): { db: Db; checkpointer: Checkpointer | undefined } {
  const inMemory = location === ':memory:';
  if (!inMemory) mkdirSync(dirname(location), { recursive: true });
  const database = new SqliteDatabase(location);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  cacheStatements(database);
  const checkpointer = inMemory ? undefined : startCheckpointer(database, (reason) => process.emitWarning(`SQLite checkpointer: ${reason}`));
  return { db: new Kysely<Database>({ dialect: fairSqliteDialect({ database }) }), checkpointer };
}

function openSqliteReader(location: string, threads: number): DbHandle {
  const reader = threads > 1 ? new SqliteReaderPool(Array.from({ length: threads }, () => new SqliteReader(location))) : new SqliteReader(location);
  const db = readerKysely(reader);
  registerRunner(db, (sql, parameters) => reader.query(sql, parameters));
  return {
    db,
    dialect: 'sqlite',
    location,
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

function openMysql(options: DbOptions): Db {
  const pool = createPool({
    uri: options.location,
    connectionLimit: options.poolSize ?? 10,
    timezone: 'Z',
    charset: 'utf8mb4_unicode_ci',
    decimalNumbers: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: options.multipleStatements === true,
  });
  // mysql2 runs a query issued here before anything the pool hands the connection out for; a
  // connection that could not turn autocommit off is destroyed rather than used.
  if (options.autocommit === false) {
    pool.on('connection', (connection) => {
      connection.query('SET autocommit = 0', (err) => {
        if (err) connection.destroy();
      });
    });
  }
  const db = new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  registerRunner(db, preparedRunner(pool));
  return db;
}

/** The database the config names: MySQL at db.url, or SQLite at <data_dir>/weim.sqlite. */
export function openConfiguredDatabase(config: Pick<Config, 'db' | 'data_dir'>, poolSize = config.db.pool_size): DbHandle {
  return config.db.dialect === 'mysql'
    ? openDatabase({ dialect: 'mysql', location: config.db.url, poolSize })
    : openDatabase({ dialect: 'sqlite', location: join(config.data_dir, 'weim.sqlite') });
}

/** Prepared statements kept per SQL text (Kysely prepares every query anew otherwise). */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Makes `prepare` reuse statements by SQL text (least recently prepared dropped first). Safe here:
 * Kysely runs SQLite queries one at a time on its single connection and never leaves a statement
 * iterating, and SQLite re-prepares a cached statement by itself after a schema change.
 */
function cacheStatements(database: SqliteDatabase.Database): void {
  const prepare = database.prepare.bind(database);
  const cache = new Map<string, SqliteDatabase.Statement>();
  database.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (statement) return statement;
    statement = prepare(source);
    setBounded(cache, source, statement, STATEMENT_CACHE_SIZE);
    return statement;
  }) as typeof database.prepare;
}
