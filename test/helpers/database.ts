import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { inject } from 'vitest';
import { openDatabase, type DbHandle } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import type { Dialect } from '../../src/db/migration-kit.js';
import { createMysqlDatabase } from '../setup/mariadb.js';

const quiet = { info: () => {} };

/**
 * The dialects a dual-dialect suite runs on: SQLite always, MariaDB when the global setup started
 * (or was given) one. Under CI a missing MariaDB already failed the run in the global setup.
 */
export function testDialects(): Dialect[] {
  if (inject('mysqlUrl')) return ['sqlite', 'mysql'];
  console.warn('!!! MariaDB unavailable: running this suite on SQLite only (CI would fail instead)');
  return ['sqlite'];
}

/**
 * A fresh database: in-memory SQLite, or a new MariaDB schema dropped by `close()`; migrated to
 * the latest unless `migrated` is false (for tests that migrate it themselves).
 */
export async function openTestDatabase(dialect: Dialect, options: { migrated?: boolean } = {}): Promise<DbHandle> {
  const migrated = options.migrated ?? true;
  if (dialect === 'sqlite') {
    const dbh = openDatabase({ dialect: 'sqlite', location: ':memory:' });
    if (migrated) await migrateToLatest(dbh.db, quiet);
    return dbh;
  }
  const adminUrl = inject('mysqlUrl');
  if (!adminUrl) throw new Error('MariaDB is not available to this test run');
  const name = `weim_t_${randomBytes(6).toString('hex')}`;
  const dbh = openDatabase({ dialect: 'mysql', location: await createMysqlDatabase(adminUrl, name), poolSize: 20 });
  if (migrated) await migrateToLatest(dbh.db, quiet);
  return {
    ...dbh,
    async close() {
      await dbh.close();
      const cleanup = await createConnection({ uri: adminUrl });
      await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await cleanup.end();
    },
  };
}

/** The MariaDB URL of a test database handle's schema (for tests that start a node on MySQL). */
export function mysqlUrlFor(databaseName: string): string {
  const adminUrl = inject('mysqlUrl');
  if (!adminUrl) throw new Error('MariaDB is not available to this test run');
  const url = new URL(adminUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}
