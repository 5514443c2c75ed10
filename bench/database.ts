import { join } from 'node:path';
import { openDatabase, type DbHandle } from '../src/db/connect.js';
import { findBinary, stopProcess } from '../test/setup/processes.js';
import { createMysqlDatabase, type MariadbOptions, startMariadb, type StartedService as Started } from '../test/setup/mariadb.js';
import { rmSync } from 'node:fs';

export type BenchDialect = 'sqlite' | 'mysql';

export interface BenchDatabase {
  dbh: DbHandle;
  /** MySQL: URL of the bench's own database; SQLite: ''. */
  url: string;
  server?: Started;
  /** Closes the handle and stops the private mariadbd, if one was started. */
  close(): Promise<void>;
}

/**
 * A fresh, empty bench database: SQLite at `<dataDir>/weim.sqlite` (where a node with
 * WEIM_DATA_DIR=dataDir looks), or a new database on MariaDB at WEIM_DB_URL, else on a private
 * mariadbd started like the test rig does (or with `mariadbOptions`).
 */
export async function openBenchDatabase(dialect: BenchDialect, dataDir: string, log: (msg: string) => void, mariadbOptions?: MariadbOptions): Promise<BenchDatabase> {
  if (dialect === 'sqlite') {
    const location = join(dataDir, 'weim.sqlite');
    const dbh = openDatabase({ dialect: 'sqlite', location });
    return { dbh, url: '', close: () => dbh.close() };
  }
  let server: Started | undefined;
  let adminUrl = process.env.WEIM_DB_URL;
  if (!adminUrl) {
    const binary = findBinary('mariadbd');
    if (!binary) throw new Error('mariadbd not found: install mariadb-server or set WEIM_DB_URL');
    log('starting a private mariadbd');
    server = await startMariadb(binary, mariadbOptions);
    adminUrl = server.url;
  }
  const url = await createMysqlDatabase(adminUrl, `weim_bench_${Date.now()}`);
  const dbh = openDatabase({ dialect: 'mysql', location: url, poolSize: 20 });
  return {
    dbh,
    url,
    server,
    async close() {
      await dbh.close();
      if (server?.child) await stopProcess(server.child);
      if (server?.dir) rmSync(server.dir, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
