import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { createMysqlDatabase } from './setup/mariadb.js';
import { freePort } from './setup/processes.js';
import { post } from './helpers/http.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

/** Runs `src/main.ts` as `npm start` does, in a clean environment plus `env`. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = (text: string, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" in output:\n${stdout}\n${stderr}`)), timeoutMs);
      const check = () => {
        if (stdout.includes(text)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      check();
    });
  return { child, exited, logged, output: () => ({ stdout, stderr }) };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('the weim process', () => {
  it('refuses to start in production with the default JWT secret, naming the key', async () => {
    const run = startMain({ NODE_ENV: 'production', WEIM_DATA_DIR: mkdtempSync(join(tmpdir(), 'weim-p-')) });
    expect(await run.exited).toBe(2);
    expect(run.output().stderr).toContain('auth.jwt_secret');
  });

  it('refuses a bad config value, naming the key', async () => {
    const run = startMain({ PORT: 'http' });
    expect(await run.exited).toBe(2);
    expect(run.output().stderr).toContain('server.port');
  });

  it('starts embedded with no config, serves, and stops gracefully on SIGTERM mid-request', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'weim-p-'));
    const port = await freePort();
    const run = startMain({ WEIM_DATA_DIR: dataDir, PORT: String(port), WEIM_AUTH_BCRYPT_COST: '13' });
    await run.logged('weim listening');
    expect(existsSync(join(dataDir, 'weim.sqlite'))).toBe(true);
    // The start-up line says where it listens (not a 127.0.0.1 it does not bind) and what it runs on.
    const started = JSON.parse(run.output().stdout.split('\n').find((l) => l.includes('weim listening'))!);
    expect(started).toMatchObject({
      listen: `0.0.0.0:${port}`,
      cluster: { mode: 'single' },
      database: { dialect: 'sqlite', file: join(dataDir, 'weim.sqlite') },
      search: { backend: 'sql' },
      blobs: { store: 'local', dir: dataDir, path: '/files' },
      production: false,
    });
    expect(started.nodeId).toMatch(/-\d+$/);
    const api = `http://127.0.0.1:${port}/api/v1`;
    // bcrypt at cost 13 takes several hundred ms: the register below is still running at SIGTERM.
    const inFlight = post(api, '/register', { username: 'graceful_1', password: 'secret123' });
    await new Promise((r) => setTimeout(r, 100));
    run.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.code).toBe(0);
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toContain('"msg":"stopped"');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    rmSync(dataDir, { recursive: true, force: true });
  });
});

/** A new, empty MariaDB database on the test server, dropped after the test. */
async function emptyMysqlDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const adminUrl = inject('mysqlUrl');
  if (!adminUrl) throw new Error('MariaDB is not available to this test run');
  const name = `weim_p_${randomBytes(5).toString('hex')}`;
  const url = await createMysqlDatabase(adminUrl, name);
  return {
    url,
    drop: async () => {
      const c = await createConnection({ uri: adminUrl });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}

describe('the weim process on MySQL refuses a database it cannot use', () => {
  it('an unmigrated database: exits naming the pending migrations and the command; after `npm run migrate` it starts', async () => {
    const { url, drop } = await emptyMysqlDatabase();
    const port = await freePort();
    const env = { WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: url, PORT: String(port), WEIM_DATA_DIR: mkdtempSync(join(tmpdir(), 'weim-p-')) };
    const run = startMain(env);
    expect(await run.exited).toBe(1);
    const { stdout, stderr } = run.output();
    expect(stdout).not.toContain('weim listening');
    expect(stderr).toMatch(/database: \d+ of \d+ migrations have not run on mysql:\/\/weim:\*\*\*@127\.0\.0\.1:\d+\/weim_p_\w+ \(0001_users, 0002_\w+, 0003_\w+, 0004_\w+, 0005_\w+ and \d+ more\)/);
    expect(stderr).toContain('Run `npm run migrate` with the same configuration');
    expect(stderr).not.toContain(':weim@');
    // Nothing was created in it.
    const c = await createConnection({ uri: url });
    const [tables] = await c.query('SHOW TABLES');
    await c.end();
    expect(tables).toEqual([]);

    const migrate = spawn(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'ignore' });
    expect(await new Promise((r) => migrate.once('exit', r))).toBe(0);
    const again = startMain(env);
    await again.logged('weim listening');
    const started = JSON.parse(again.output().stdout.split('\n').find((l) => l.includes('weim listening'))!);
    expect(started.database).toEqual({ dialect: 'mysql', url: url.replace(':weim@', ':***@') });
    expect((await post(`http://127.0.0.1:${port}/api/v1`, '/register', { username: 'migrated_1', password: 'secret123' })).code).toBe(0);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    await drop();
  });

  it('a wrong password or an unknown database: exits at once naming the database, password hidden', async () => {
    const { url, drop } = await emptyMysqlDatabase();
    for (const [bad, reason] of [
      [url.replace(':weim@', ':wrong@'), /Access denied for user 'weim'.*\[ER_ACCESS_DENIED_ERROR\]/],
      [url.replace(/\/weim_p_\w+$/, '/weim_nope'), /Unknown database 'weim_nope' \[ER_BAD_DB_ERROR\]/],
    ] as const) {
      const run = startMain({ WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: bad, PORT: String(await freePort()), WEIM_DATA_DIR: mkdtempSync(join(tmpdir(), 'weim-p-')) });
      expect(await run.exited).toBe(1);
      const { stdout, stderr } = run.output();
      expect(stdout).not.toContain('weim listening');
      expect(stderr).toMatch(/^weim failed to start: database: cannot use MySQL at mysql:\/\/weim:\*\*\*@127\.0\.0\.1:\d+\//m);
      expect(stderr).toMatch(reason);
      expect(stderr).not.toContain('wrong');
      expect(stderr).not.toMatch(/\n\s+at /);
    }
    await drop();
  });

  it('a database that does not answer: exits after db.connect_timeout_ms naming it', async () => {
    const closed = await freePort();
    const run = startMain({ WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: `mysql://weim:pw@127.0.0.1:${closed}/weim`, WEIM_DB_CONNECT_TIMEOUT_MS: '1500', PORT: String(await freePort()) });
    expect(await run.exited).toBe(1);
    expect(run.output().stderr).toMatch(new RegExp(`database: cannot use MySQL at mysql://weim:\\*\\*\\*@127\\.0\\.0\\.1:${closed}/weim: .*ECONNREFUSED.*\\(tried for 2 s, \\d+ attempts; db\\.connect_timeout_ms\\)`));
  });
});
