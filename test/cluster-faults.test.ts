import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { DbHandle } from '../src/db/connect.js';
import { createNode } from '../src/node.js';
import { clusterEnv, clusterRigAvailable, startClusterNodes } from './helpers/cluster.js';
import { makeFriends, post } from './helpers/http.js';
import type { TestNode } from './helpers/node.js';
import { settle, signedInSocket, type TestSocket } from './helpers/ws.js';

const available = clusterRigAvailable();
if (!available) console.warn('!!! cluster fault suite needs MariaDB, Redis and etcd: SKIPPED (CI would fail instead)');

/** Two nodes on the rig's MariaDB, Redis and etcd, under a key prefix of their own. */
describe.runIf(available)('cluster faults: Redis losing its keys, unreachable services at start', () => {
  const prefix = `weim-f-${randomBytes(4).toString('hex')}`;
  const settings = { WEIM_CLUSTER_DIRECTORY_CHECK_MS: '300' };
  let started: Awaited<ReturnType<typeof startClusterNodes>> | undefined;
  let shared: DbHandle;
  let dbUrl: string;
  let n1: TestNode;
  let n2: TestNode;
  let redis: Redis;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    started = await startClusterNodes(prefix, ['f1', 'f2'], settings);
    ({ shared, dbUrl } = started);
    [n1, n2] = started.nodes as [TestNode, TestNode];
    redis = new Redis(inject('redisUrl')!);
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await started?.stop();
    await redis?.quit();
  });

  /** What a Redis restart without persistence does to this cluster: its keys gone, its connections cut. */
  async function loseRedis(): Promise<void> {
    const keys: string[] = [];
    for await (const batch of redis.scanStream({ match: `${prefix}:*`, count: 500 })) keys.push(...(batch as string[]));
    if (keys.length > 0) await redis.del(...keys);
    const clients = ((await redis.client('LIST')) as string).split('\n').filter((l) => l.includes(` name=${prefix}-`));
    for (const line of clients) await redis.client('KILL', 'ID', line.match(/^id=(\d+)/)![1]!).catch(() => {});
  }

  it('after Redis loses every key, each node writes its entries again: live delivery resumes within 2 s, and each socket is asked to sync once', async () => {
    const { a, b } = await makeFriends(n1.api);
    const as = await signedInSocket(n1.url, a.token);
    const bs = await signedInSocket(n2.url, b.token);
    sockets.push(as, bs);
    const send = (body: string) => post(n1.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body }, { token: a.token });
    expect((await send('before')).code).toBe(0);
    await bs.next((f) => f.Cmd === 6 && f.Body === 'before');

    await loseRedis();
    // Sends while the directory is being rebuilt are stored and acked: the database is the truth.
    expect((await send('during')).code).toBe(0);
    // Both nodes hold their users again (each writes its entries when Redis answers).
    await expect.poll(async () => {
      const located = await n1.node.cluster.directory.locate([a.user.id, b.user.id]).catch(() => new Map<string, number[]>());
      return [located.get('f1')?.includes(a.user.id), located.get('f2')?.includes(b.user.id)];
    }, { timeout: 15_000, interval: 50 }).toEqual([true, true]);
    expect((await send('after')).code).toBe(0);
    expect(await bs.next((f) => f.Cmd === 6 && f.Body === 'after')).toMatchObject({ FromId: a.user.id });
    await settle(2000);
    // What could not be pushed meanwhile came too, live and in order, though this client never syncs.
    expect(bs.of(6).map((f) => [f.Seq, f.Body])).toEqual([[1, 'before'], [2, 'during'], [3, 'after']]);
    // One Cmd 24 per socket for the whole outage, sent once the entries were back.
    expect([as.of(24).length, bs.of(24).length]).toEqual([1, 1]);
    const metrics = await (await fetch(`${n2.url}/metrics`)).text();
    for (const kind of ['directory-rebuilt', 'sync-asked']) {
      expect(Number(new RegExp(`^weim_cluster_recoveries_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(metrics)?.[1]), kind).toBeGreaterThanOrEqual(1);
    }
  });

  it('a node whose entries vanish without any reconnect (FLUSH by an operator) finds out and writes them again', async () => {
    const { a, b } = await makeFriends(n1.api);
    const bs = await signedInSocket(n2.url, b.token);
    sockets.push(bs);
    await redis.del(`${prefix}:n:f2`, `${prefix}:u:${b.user.id}`);
    await expect.poll(async () => (await n1.node.cluster.directory.locate([b.user.id])).get('f2'), { timeout: 15_000, interval: 50 }).toEqual([b.user.id]);
    await post(n1.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'found again' }, { token: a.token });
    expect(await bs.next((f) => f.Cmd === 6 && f.Body === 'found again')).toBeDefined();
  });

  /** A loopback port nothing listens on. */
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    return port;
  }

  it.each([
    ['etcd', async () => ({ WEIM_CLUSTER_ETCD_HOSTS: `http://127.0.0.1:${await closedPort()}` }), /etcd at http:\/\/127\.0\.0\.1:\d+ did not answer/],
    ['Redis', async () => ({ WEIM_CLUSTER_REDIS_URL: `redis://127.0.0.1:${await closedPort()}` }), /Redis at redis:\/\/127\.0\.0\.1:\d+.* (is unreachable|did not answer)/],
  ])('start-up with %s unreachable fails, naming the service and its URL', async (_name, broken, message) => {
    const config = loadConfig({
      WEIM_CONFIG: 'config.yml', WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: dbUrl, WEIM_LOG_LEVEL: 'silent',
      ...clusterEnv(prefix, 'f9', settings), WEIM_CLUSTER_CONNECT_TIMEOUT_MS: '3000', ...(await broken()),
    });
    // Fails (the test's own timeout is the bound) instead of waiting for the service forever.
    await expect(createNode(config, pino({ level: 'silent' }))).rejects.toThrow(message);
  }, 15_000);
});
