import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createConnection } from 'mysql2/promise';
import { findBinary, onFreePorts, startProcess, waitUntil } from './processes.js';

/** A service started on loopback: its URL, process and temporary data directory. */
export interface StartedService {
  url: string;
  child: ChildProcess;
  dir: string;
}

export interface MariadbOptions {
  /**
   * Flush InnoDB's log to disk at every commit (`innodb_flush_log_at_trx_commit=1`, MariaDB's
   * durable default). The test rig turns it off (2: flush once a second) because tests do not
   * need crash safety; benchmarks keep it on unless they say otherwise.
   */
  durable?: boolean;
  bufferPoolSize?: string;
}

/**
 * Starts a private mariadbd (from the Debian binaries) on a free loopback port with a fresh data
 * directory and a `weim`/`weim` user that may create databases. Used by the test setup and the
 * benchmarks; stop it with `stopProcess(child)` and remove `dir`.
 */
export async function startMariadb(binary: string, options: MariadbOptions = {}): Promise<StartedService> {
  const dir = mkdtempSync(join(tmpdir(), 'weim-mariadb-'));
  const install = findBinary('mariadb-install-db') ?? findBinary('mysql_install_db');
  if (!install) throw new Error('MariaDB: mariadb-install-db not found next to mariadbd');
  const init = startProcess('mariadb-install-db', install, [
    '--no-defaults', '--user=root', `--datadir=${dir}/data`, '--auth-root-authentication-method=socket', '--skip-test-db',
  ]);
  const code = await new Promise<number | null>((resolve) => init.child.once('exit', resolve));
  if (code !== 0) throw new Error(`mariadb-install-db failed (${code}):\n${init.output()}`);
  writeFileSync(
    `${dir}/init.sql`,
    "CREATE USER IF NOT EXISTS 'weim'@'127.0.0.1' IDENTIFIED BY 'weim';\nGRANT ALL PRIVILEGES ON *.* TO 'weim'@'127.0.0.1' WITH GRANT OPTION;\n",
  );
  return onFreePorts(1, async ([port]) => {
    const server = startProcess('mariadbd', binary, [
      '--no-defaults', '--user=root', `--datadir=${dir}/data`, '--bind-address=127.0.0.1', `--port=${port}`,
      `--socket=${dir}/s.sock`, `--pid-file=${dir}/mariadb.pid`, `--init-file=${dir}/init.sql`,
      '--character-set-server=utf8mb4', '--collation-server=utf8mb4_unicode_ci', '--skip-name-resolve',
      '--skip-log-bin', `--innodb-flush-log-at-trx-commit=${options.durable ? 1 : 2}`,
      `--innodb-buffer-pool-size=${options.bufferPoolSize ?? '256M'}`, '--max-connections=1000',
    ]);
    const url = `mysql://weim:weim@127.0.0.1:${port}/mysql`;
    await waitUntil('MariaDB', async () => {
      const connection = await createConnection({ uri: url });
      await connection.end();
      return true;
    }, 60_000, server.output, server.child);
    return { url, child: server.child, dir };
  });
}

/** Creates database `name` (utf8mb4) on the MariaDB at `adminUrl`; returns its URL. */
export async function createMysqlDatabase(adminUrl: string, name: string): Promise<string> {
  const admin = await createConnection({ uri: adminUrl });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
