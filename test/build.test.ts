import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { afterAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { makeFriends, post } from './helpers/http.js';
import { createMysqlDatabase } from './setup/mariadb.js';
import { freePort } from './setup/processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * The compiled build (`npm run build`, which `npm ci` runs): `npm start` is `node dist/main.js`,
 * with no TypeScript loader, worker threads included (SQLite's readers; MySQL's message writer).
 */
describe('the compiled build', () => {
  const children: ChildProcess[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const c of cleanups) await c();
  });

  async function startCompiled(env: Record<string, string>) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), 'weim-dist-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    // Plain node: a .ts file reached at run time would fail to load.
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WEIM_DATA_DIR: dataDir, PORT: String(port), WEIM_SERVER_HOST: '127.0.0.1', WEIM_AUTH_BCRYPT_COST: '4', WEIM_SERVER_DRAIN_DELAY_MS: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; !(await fetch(`${url}/healthz`).then((r) => r.ok, () => false)); i++) {
      if (child.exitCode !== null || i > 200) throw new Error(`dist/main.js did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { url, api: `${url}/api/v1`, output: () => output };
  }

  /** a sends b a message over the socket; b's socket gets it. */
  async function exchange(api: string, url: string) {
    const { a, b } = await makeFriends(api);
    const search = await post(api, '/im/friend/search', { word: a.user.username.slice(0, 6) }, { token: b.token });
    expect(search.code).toBe(0);
    const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
    await new Promise((r) => ws.once('open', r));
    const got = new Promise<Record<string, unknown>>((resolve) => ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as Record<string, unknown>;
      if (f.Cmd === 6) resolve(f);
    }));
    ws.send(JSON.stringify({ Cmd: 3, Body: b.token }));
    await new Promise((r) => setTimeout(r, 200));
    expect((await post(api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'from dist' }, { token: a.token })).code).toBe(0);
    expect((await got).Body).toBe('from dist');
    ws.close();
  }

  it('builds, and node dist/main.js serves on SQLite (reader threads) and MySQL (writer thread)', async () => {
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).toBe(0);

    const sqlite = await startCompiled({});
    await exchange(sqlite.api, sqlite.url);
    // The web app as the build bundled it (dist/web/): index.html names hashed assets it serves.
    const page = await fetch(`${sqlite.url}/`);
    expect(page.status).toBe(200);
    const assets = [...(await page.text()).matchAll(/"\/assets\/([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const name of assets) {
      expect(readdirSync(join(root, 'dist/web/assets'))).toContain(name);
      expect((await fetch(`${sqlite.url}/assets/${name}`)).headers.get('cache-control')).toContain('immutable');
    }

    const adminUrl = inject('mysqlUrl')!;
    const name = `weim_d_${randomBytes(5).toString('hex')}`;
    const dbUrl = await createMysqlDatabase(adminUrl, name);
    cleanups.push(async () => {
      const c = await createConnection({ uri: adminUrl });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    });
    const mysql = await startCompiled({ WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: dbUrl, WEIM_DB_MIGRATE_ON_START: 'true' });
    await exchange(mysql.api, mysql.url);
    expect(mysql.output()).not.toMatch(/ERR|exited/);
  }, 90_000);
});
