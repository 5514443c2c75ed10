import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type MessageFrame, type SocketFactory, WeimApi, WeimClient } from '../src/client/index.js';
import { sql } from 'kysely';
import { type DbHandle, openDatabase } from '../src/db/connect.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { clusterEnv, clusterRigAvailable } from './helpers/cluster.js';
import { mysqlUrlFor, openTestDatabase } from './helpers/database.js';
import { freePort } from './setup/processes.js';
import { startTestNode, type TestNode } from './helpers/node.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** `npm start` on SQLite in `dataDir` at `port`; resolves once /healthz answers. */
async function startServer(dataDir: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WEIM_DATA_DIR: dataDir, PORT: String(port), WEIM_SERVER_HOST: '127.0.0.1',
      WEIM_AUTH_BCRYPT_COST: '4', WEIM_AUTH_REGISTER_MAX_PER_IP: '1000', WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_LOG_LEVEL: 'warn',
      WEIM_AUTH_JWT_SECRET: 'sdk-test-secret-sdk-test-secret-sdk-test',
    },
    stdio: 'ignore',
  });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error('weim exited at start');
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('weim did not start');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The messages (Cmd 6 / 10) one SDK client handed its app, per conversation, in order (group events such as joins left out). */
function record(client: WeimClient) {
  const byConv = new Map<number, MessageFrame[]>();
  client.on('message', (m) => {
    if (m.Cmd !== 6 && m.Cmd !== 10) return;
    let list = byConv.get(m.ConvId);
    if (!list) byConv.set(m.ConvId, (list = []));
    list.push(m);
  });
  return byConv;
}

type Row = { id: number; conversation_id: number; seq: number; body: string };

/**
 * Four users (a–b and c–d friends, a group of a, b and c) on five SDK devices (a has two), device
 * k on `deviceUrls(k)`; 150 sends round-robin, with `fault(i)` awaited before send i. Every send must
 * be stored once, and every device must hand its app exactly the database's messages of each of its
 * conversations, in order.
 */
async function scenario(base: string, deviceUrls: (k: number) => string | string[], fault: (i: number) => Promise<void>, readRows: () => Promise<Row[]>, clients: WeimClient[]) {
  const users = await Promise.all(['a', 'b', 'c', 'd'].map(async (n) => {
    const api = new WeimApi(base);
    const { user } = await api.call('/register', { username: `sdk_${n}_${Math.floor(Math.random() * 1e9)}`, password: 'secret123' });
    return { api, id: user.id as number };
  }));
  const [a, b, c, d] = users as [typeof users[0], typeof users[0], typeof users[0], typeof users[0]];
  for (const [x, y] of [[a, b], [c, d]] as const) {
    await x.api.call('/im/friend/add/request', { f_uid: y.id });
    await y.api.call('/im/friend/add/handle', { f_uid: x.id, status: 1 });
  }
  const { group } = await a.api.call('/im/group/create', { name: 'sdk group' });
  for (const m of [b, c]) {
    const { join_id } = await m.api.call('/im/group/join/request', { group_id: group.id });
    await a.api.call('/im/group/join/handle', { join_id, status: 1 });
  }

  const devices = [a, a, b, c, d].map((u, k) => {
    const client = new WeimClient({ url: deviceUrls(k), token: u.api.token!, WebSocket: WebSocket as unknown as SocketFactory, backoff: { minMs: 100, maxMs: 1000 } });
    clients.push(client);
    return { user: u, client, got: record(client) };
  });
  await Promise.all(devices.map((dev) => dev.client.start()));
  await Promise.all(devices.map((dev) => new Promise<void>((resolve) => {
    const off = dev.client.on('state', (s) => s === 'online' && (off(), resolve()));
  })));

  const targets = new Map<number, Array<[number, 0 | 1]>>([
    [a.id, [[b.id, 0], [group.id, 1]]], [b.id, [[a.id, 0], [group.id, 1]]], [c.id, [[d.id, 0], [group.id, 1]]], [d.id, [[c.id, 0]]],
  ]);
  const sends: Array<Promise<unknown>> = [];
  for (let i = 0; i < 150; i++) {
    await fault(i);
    const dev = devices[i % devices.length]!;
    const options = targets.get(dev.user.id)!;
    const [to, ope] = options[i % options.length]!;
    sends.push(dev.client.send(to, ope, 0, `m${i}`));
    await sleep(15);
  }
  const acks = (await Promise.all(sends)) as Array<{ Id: number }>;

  // What the database holds is the truth each device is checked against.
  const convIds = new Set<number>();
  const rows = (await readRows()).filter((r) => /^m\d+$/.test(r.body));
  for (const r of rows) convIds.add(Number(r.conversation_id));
  expect(rows).toHaveLength(150);
  expect(new Set(acks.map((x) => x.Id)).size).toBe(150);
  expect(convIds.size).toBe(3);
  const expected = (conv: number) => rows.filter((r) => Number(r.conversation_id) === conv).map((r) => `${r.seq}:${r.body}`);
  const deadline = Date.now() + 20_000;
  const complete = () => devices.every((dev) => [...dev.got].every(([conv, got]) => got.length >= expected(conv).length));
  while (!complete() && Date.now() < deadline) await sleep(200);
  for (const [n, dev] of devices.entries()) {
    for (const [conv, got] of dev.got) expect(got.map((m) => `${m.Seq}:${m.Body}`), `device ${n}, conversation ${conv}`).toEqual(expected(conv));
    // Each device is in exactly its user's conversations.
    expect(dev.got.size, `device ${n}`).toBe(dev.user === d ? 1 : 2);
  }
}

describe('the client SDK against a real server that is SIGKILLed and restarted mid-traffic', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-sdk-'));
  let server: ChildProcess | undefined;
  const clients: WeimClient[] = [];
  afterAll(() => {
    for (const c of clients) c.stop();
    server?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every client gets every message of its conversations once, in order; every send is stored once', async () => {
    const port = await freePort();
    server = await startServer(dataDir, port);
    await scenario(`http://127.0.0.1:${port}`, () => `ws://127.0.0.1:${port}/ws`, async (i) => {
      if (i === 50) {
        server!.kill('SIGKILL');
        await new Promise((r) => server!.once('exit', r));
      }
      if (i === 80) server = await startServer(dataDir, port);
    }, async () => {
      const dbh = openDatabase({ dialect: 'sqlite', location: join(dataDir, 'weim.sqlite') });
      const rows = await dbh.db.selectFrom('messages').select(['id', 'conversation_id', 'seq', 'body']).orderBy('conversation_id').orderBy('seq').execute();
      await dbh.close();
      return rows as Row[];
    }, clients);
  }, 90_000);
});

describe.skipIf(!clusterRigAvailable() && !process.env.CI)('the client SDK in a cluster whose node is SIGKILLed mid-traffic', () => {
  const clients: WeimClient[] = [];
  const nodes: ChildNode[] = [];
  let shared: DbHandle | undefined;
  afterAll(async () => {
    for (const c of clients) c.stop();
    await Promise.all(nodes.map((n) => n.kill()));
    await shared?.close();
  });

  it('the devices on the killed node move to the other; every message once, in order', async () => {
    shared = await openTestDatabase('mysql');
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(shared.db)).rows[0]!;
    const prefix = `sdk${Math.floor(Math.random() * 1e6)}`;
    for (const id of ['s1', 's2']) {
      nodes.push(await startChildNode({ ...clusterEnv(prefix, id), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: mysqlUrlFor(name), WEIM_LOG_LEVEL: 'silent', WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_AUTH_REGISTER_MAX_PER_IP: '1000' }));
    }
    const [s1, s2] = nodes as [ChildNode, ChildNode];
    const ws = (n: ChildNode) => `${n.url.replace('http', 'ws')}/ws`;
    // Devices 1, 3 (and the rest of a's and c's friends' traffic) start on s2 and move to s1 when it dies.
    await scenario(s1.url, (k) => (k % 2 === 1 ? [ws(s2), ws(s1)] : [ws(s1)]), async (i) => {
      if (i === 60) await s2.kill();
    }, async () => (await shared!.db.selectFrom('messages').select(['id', 'conversation_id', 'seq', 'body']).orderBy('conversation_id').orderBy('seq').execute()) as Row[], clients);
  }, 120_000);
});

describe('the client SDK bundle', () => {
  it('builds for browsers with no Node built-in, small', async () => {
    const { build } = await import('esbuild');
    const result = await build({ entryPoints: [join(root, 'src/client/index.ts')], bundle: true, format: 'esm', platform: 'browser', target: 'es2022', minify: true, write: false, metafile: true });
    const inputs = Object.keys(result.metafile.inputs);
    // Only the client's own files: the server schemas it is typed from are types, erased.
    expect(inputs.every((f) => f.startsWith('src/client/'))).toBe(true);
    expect(result.outputFiles[0]!.text).not.toMatch(/from\s*"node:|require\(/);
    expect(result.outputFiles[0]!.contents.length).toBeLessThan(20_000);
  });
});

describe('the client SDK keeps the fresh token a call past half its life brings', () => {
  let t: TestNode | undefined;
  afterAll(async () => {
    await t?.stop();
  });

  it('WeimApi takes the Login-Token header, tells onToken, and uses it for the next call', async () => {
    t = await startTestNode('sqlite', { WEIM_AUTH_JWT_SECRET: 'sdk-refresh-secret-sdk-refresh-secret-x' });
    const api = new WeimApi(t.url);
    const { user } = await api.call('/register', { username: `sdk_refresh_${Math.floor(Math.random() * 1e6)}`, password: 'secret123' });
    // A token issued 5 days ago that lasts 7: past half its life, so the server answers a fresh one.
    const now = Math.floor(Date.now() / 1000);
    const old = jwt.sign({ jti: randomUUID(), iam: (now - 5 * 86400) * 1000, iat: now - 5 * 86400, exp: now + 2 * 86400 }, 'sdk-refresh-secret-sdk-refresh-secret-x', { algorithm: 'HS256', issuer: 'weim', subject: String(user.id) });
    api.token = old;
    const told: string[] = [];
    api.onToken = (token) => told.push(token);
    const info = await api.call('/user/info');
    expect(info.id ?? info.user?.id).toBe(user.id);
    expect(told).toHaveLength(1);
    expect(api.token).toBe(told[0]);
    expect(api.token).not.toBe(old);
    // The fresh token is a fresh session's: half its life is ahead, so no further refresh.
    await api.call('/user/info');
    expect(told).toHaveLength(1);
  });
});
