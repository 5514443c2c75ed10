import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import jwt from 'jsonwebtoken';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { A, AppClient, appApi, APPS, C, call, closeOpenClients, connect, okami, open, xlveinClient } from './helpers/app-clients.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { clusterEnv, startClusterNodes } from './helpers/cluster.js';
import type { TestNode } from './helpers/node.js';
import { xlveinSign } from '../src/modules/apps/index.js';

/**
 * The realtime gateway across nodes: the seeds' other routes driven through the node that does
 * not hold the connection, and the cluster's faults (a node restarted under its id, Redis losing
 * every key, a node the others see gone for a moment).
 */

const TRUSTED = { WEIM_APPS_LIST: APPS, WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128' };

afterEach(() => closeOpenClients());

/** An xlvein client, the app's user `sub`, once it is registered (bound to its user: it can be pushed to). */
async function xlveinUser(base: string, sub: string): Promise<AppClient> {
  const client = await xlveinClient(base, A, sub);
  await expect.poll(async () => (await appApi(base, 'online', A, { user_id: sub })).data.count, { interval: 20 }).toBeGreaterThan(0);
  return client;
}

/** A goravel-websocket client whose token names the app's user `sub`. */
async function okamiClient(base: string, sub: string): Promise<AppClient> {
  const token = jwt.sign({ sub }, A.secret, { algorithm: 'HS256', expiresIn: '1h' });
  const client = new AppClient(new WebSocket(`${base.replace(/^http/, 'ws')}/api/websocket/ws?systemId=${A.key}&token=${token}`));
  open.push(client);
  await client.next(() => true);
  return client;
}

describe('realtime gateway apps: goravel-socket and goravel-websocket across two nodes', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  beforeAll(async () => {
    cluster = await startClusterNodes(`appsx${Date.now()}`, ['g1', 'g2'], TRUSTED);
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('goravel-socket: every route through the other node; a bind is in place when its answer comes (a send right after it arrives)', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const c1 = await connect(n1.url, C.key);
    const c2 = await connect(n2.url, C.key);
    expect(await call(n2.url, 'register', undefined, { systemId: C.key })).toEqual({ status: 200, data: [], msg: 'success' });
    const sent = await call(n2.url, 'send_to_client', C.key, { clientId: c1.clientId, msg: 'across' });
    expect(sent).toEqual({ status: 200, data: [{ messageId: expect.stringMatching(/^[0-9a-f]{16}$/) }], msg: 'success' });
    expect(await c1.next((f) => f.msg === 'across')).toMatchObject({ messageId: sent.data[0].messageId });
    // Bound through the node that does not hold it, then sent to at once: no wait between.
    expect(await call(n2.url, 'bind_to_group', C.key, { clientId: c1.clientId, groupName: 'arena', userId: 'p1' })).toEqual({ status: 200, data: 'success', msg: '发送成功' });
    const toGroup = await call(n2.url, 'send_to_group', C.key, { groupName: 'arena', msg: 'right after the bind' });
    expect(toGroup).toEqual({ status: 200, data: { messageId: expect.any(String) }, msg: '发送成功' });
    await c1.next((f) => f.msg === 'right after the bind');
    await call(n1.url, 'bind_to_group', C.key, { clientId: c2.clientId, groupName: 'arena', userId: 'p2' });
    await call(n1.url, 'bind_to_group', C.key, { clientId: c2.clientId, groupName: 'lobby' });
    const list = await call(n1.url, 'get_online_list', C.key, { groupName: 'arena' });
    expect({ ...list, data: { ...list.data, list: [...list.data.list].sort() } }).toEqual({ status: 200, data: { count: 2, list: [c1.clientId, c2.clientId].sort() }, msg: '发送成功' });
    // get_all_groups: this app's groups only, as goravel-socket keyed them (`<systemId>:<group>`), from either node.
    for (const n of [n1, n2]) {
      const all = await call(n.url, 'get_all_groups', C.key, {});
      expect(all.msg).toBe('success');
      expect(Object.keys(all.data).sort()).toEqual([`${C.key}:arena`, `${C.key}:lobby`]);
      expect([...all.data[`${C.key}:arena`]].sort()).toEqual([c1.clientId, c2.clientId].sort());
      expect(all.data[`${C.key}:lobby`]).toEqual([c2.clientId]);
    }
    expect((await call(n1.url, 'get_all_groups', A.key, {})).data).toEqual({});
    expect(await call(n2.url, 'close_client', C.key, { clientId: c1.clientId })).toEqual({ status: 200, data: 'success', msg: '退出成功' });
    await c1.next(() => c1.closed !== undefined);
    await c2.next((f) => f.code === 1002 && JSON.parse(f.data).clientId === c1.clientId);
    expect((await call(n2.url, 'get_online_list', C.key, { groupName: 'arena' })).data).toEqual({ count: 1, list: [c2.clientId] });
  });

  it('goravel-websocket: a user with a connection on each node is sent to and kicked through either; bind and list across', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const u1 = await okamiClient(n1.url, 'rider');
    const u2 = await okamiClient(n2.url, 'rider');
    const byUser = await okami(n1.url, 'send_to_client', { systemId: A.key, userId: 'rider', msg: 'to both' });
    expect(byUser.body.data.messages).toHaveLength(2);
    await u1.next((f) => f.msg === 'to both');
    await u2.next((f) => f.msg === 'to both');
    expect((await okami(n1.url, 'bind_to_group', { systemId: A.key, clientId: u2.clientId, groupName: 'route-9' })).body).toEqual({ code: 0, data: [], msg: 'success' });
    const listed = await okami(n2.url, 'send_to_system', { systemId: A.key, msg: 'everyone' });
    expect(listed.body).toEqual({ code: 0, data: [], msg: 'success' });
    await u1.next((f) => f.msg === 'everyone');
    await u2.next((f) => f.msg === 'everyone');
    expect((await okami(n1.url, 'online_list', { systemId: A.key, groupName: 'route-9' })).body).toEqual({ code: 0, data: { count: 1, list: [u2.clientId] }, msg: 'success' });
    const kicked = await okami(n2.url, 'kick_user', { systemId: A.key, userId: 'rider' });
    expect([...kicked.body.data].sort()).toEqual([u1.clientId, u2.clientId].sort());
    await u1.next(() => u1.closed !== undefined);
    await u2.next(() => u2.closed !== undefined);
    await expect.poll(async () => (await okami(n1.url, 'kick_user', { systemId: A.key, userId: 'rider' })).body).toEqual({ code: 500, data: [], msg: '客户端不存在' });
  });

  it('an Idempotency-Key on the seeds\' routes: the retry gets the first answer and sends nothing again; another body under the key is refused', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const c1 = await connect(n1.url, A.key);
    const send = (base: string, body: object) => fetch(`${base}/api/send_to_client`, { method: 'POST', headers: { 'Content-Type': 'application/json', SystemId: A.key, 'Idempotency-Key': `retry-${c1.clientId}` }, body: JSON.stringify(body) });
    const body = { clientId: c1.clientId, msg: 'once' };
    const first = await send(n1.url, body);
    const firstAnswer = await first.text();
    // The retry goes to the other node, as a retry through a load balancer may.
    const again = await send(n2.url, body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.text()).toBe(firstAnswer);
    const other = await send(n2.url, { ...body, msg: 'not the same' });
    expect(other.status).toBe(422);
    expect(await other.json()).toMatchObject({ code: -1, data: [] });
    await c1.next((f) => f.msg === 'once');
    await new Promise((r) => setTimeout(r, 300));
    expect(c1.messages().filter((f) => f.msg === 'once' || f.msg === 'not the same')).toHaveLength(1);
  });
  it('xlvein\'s push with an Idempotency-Key: the same push again (nonce and all, through the other node) gets the first answer and is delivered once', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const user = await xlveinUser(n1.url, 'payee');
    const fields = { app_key: A.key, send_to: 'payee', message: '{"amount":5}', nonce: randomBytes(12).toString('hex'), ts: String(Math.floor(Date.now() / 1000)) };
    const body = new URLSearchParams({ ...fields, sign: xlveinSign(fields, A.secret) });
    const push = (base: string, key = 'pay-5') => fetch(`${base}/api/v1/im/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Idempotency-Key': key }, body });
    const first = await push(n2.url);
    expect(await first.json()).toEqual({ error: 0, data: {}, message: '' });
    const again = await push(n1.url);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual({ error: 0, data: {}, message: '' });
    // The same nonce under another key (or none) is a replay.
    expect(await (await push(n1.url, 'another')).json()).toEqual({ error: 1002, message: 'nonce used before (a replayed push)' });
    await user.next((f) => f.data?.amount === 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(user.frames.filter((f) => f.data?.amount === 5)).toHaveLength(1);
  });
});

describe('realtime gateway apps: Redis and node faults', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  let redis: Redis;
  let prefix: string;
  const children: ChildNode[] = [];
  beforeAll(async () => {
    prefix = `appsf${Date.now()}`;
    cluster = await startClusterNodes(prefix, ['f1', 'f2'], TRUSTED);
    redis = new Redis(inject('redisUrl')!);
  });
  afterAll(async () => {
    for (const c of children) await c.kill();
    await cluster.stop();
    redis.disconnect();
  });

  const childEnv = (nodeId: string) => ({ ...clusterEnv(prefix, nodeId, TRUSTED), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: cluster.dbUrl, WEIM_AUTH_JWT_SECRET: cluster.nodes[0]!.config.auth.jwt_secret });

  it('a node killed and started again under the same id: its earlier run\'s connections are gone from every list and from Redis (no ghosts)', async () => {
    const [f1] = cluster.nodes as [TestNode];
    const phoenix = await startChildNode(childEnv('phoenix'));
    children.push(phoenix);
    const here = await connect(f1.url, A.key);
    const there = await connect(phoenix.url, A.key);
    await call(f1.url, 'bind_to_group', A.key, { clientId: here.clientId, groupName: 'nest' });
    await call(f1.url, 'bind_to_group', A.key, { clientId: there.clientId, groupName: 'nest' });
    expect((await call(f1.url, 'get_online_list', A.key, { groupName: 'nest' })).data.count).toBe(2);
    await phoenix.kill();
    // Back at once, inside the lease: the other node may never have seen it gone.
    const reborn = await startChildNode(childEnv('phoenix'));
    children.push(reborn);
    expect((await call(f1.url, 'get_online_list', A.key, { groupName: 'nest' })).data).toEqual({ count: 1, list: [here.clientId] });
    expect(await redis.smembers(`${prefix}:app:${A.key}:g:nest`)).toEqual([here.clientId]);
    expect(await redis.hkeys(`${prefix}:app:${A.key}:gn:nest`)).toEqual(['f1']);
    const fresh = await connect(reborn.url, A.key);
    await call(f1.url, 'bind_to_group', A.key, { clientId: fresh.clientId, groupName: 'nest' });
    expect((await call(f1.url, 'get_online_list', A.key, { groupName: 'nest' })).data.count).toBe(2);
    await reborn.kill();
  });

  it('a node that dies for good: the first live node clears its connections from Redis once its lease is gone', async () => {
    const [f1] = cluster.nodes as [TestNode];
    const doomed = await startChildNode(childEnv('doomed'));
    children.push(doomed);
    const gone = await connect(doomed.url, A.key);
    await call(f1.url, 'bind_to_group', A.key, { clientId: gone.clientId, groupName: 'graveyard' });
    expect(await redis.exists(`${prefix}:appnode:doomed`)).toBe(1);
    await doomed.kill();
    await expect.poll(() => redis.exists(`${prefix}:appnode:doomed`), { timeout: 10_000, interval: 100 }).toBe(0);
    expect(await redis.smembers(`${prefix}:app:${A.key}:g:graveyard`)).toEqual([]);
    expect(await redis.sismember(`${prefix}:app:${A.key}:groups`, 'graveyard')).toBe(0);
    expect(await redis.hkeys(`${prefix}:app:${A.key}:gn:\u0001all`)).not.toContain('doomed');
  });

  it('a node whose entries another node cleared writes them again, though it wrote something since (a new connection)', async () => {
    const [f1] = cluster.nodes as [TestNode];
    const m1 = await connect(f1.url, A.key);
    await call(f1.url, 'bind_to_group', A.key, { clientId: m1.clientId, groupName: 'alpha' });
    // What another node's clear leaves (f1 was out of the cluster for it): f1's marker and entries gone.
    await redis.del(`${prefix}:appup:f1`, `${prefix}:appnode:f1`, `${prefix}:app:${A.key}:g:alpha`, `${prefix}:app:${A.key}:gn:alpha`);
    await redis.srem(`${prefix}:app:${A.key}:g:\u0001all`, m1.clientId);
    // Before its next check, f1 writes again: a new connection's entries start the index afresh.
    const m2 = await connect(f1.url, A.key);
    await expect.poll(async () => (await call(f1.url, 'get_online_list', A.key, { groupName: 'alpha' })).data, { timeout: 10_000, interval: 100 }).toEqual({ count: 1, list: [m1.clientId] });
    expect(await redis.sismember(`${prefix}:app:${A.key}:g:\u0001all`, m1.clientId)).toBe(1);
    expect(await redis.sismember(`${prefix}:app:${A.key}:g:\u0001all`, m2.clientId)).toBe(1);
  });

  it('Redis loses every key: each node writes its connections again; group sends, lists, user sends and info work as before', async () => {
    const [f1, f2] = cluster.nodes as [TestNode, TestNode];
    const a = await connect(f1.url, A.key);
    const b = await connect(f2.url, A.key);
    const u = await okamiClient(f2.url, 'keeper');
    for (const c of [a, b]) await call(f1.url, 'bind_to_group', A.key, { clientId: c.clientId, groupName: 'vault' });
    // All at once, as a restart without persistence loses them.
    await redis.del(...(await redis.keys(`${prefix}:app*`)));
    // Written again by each node's check (every cluster.directory_check_ms).
    await expect.poll(async () => (await call(f1.url, 'get_online_list', A.key, { groupName: 'vault' })).data.count, { timeout: 10_000, interval: 100 }).toBe(2);
    await expect.poll(async () => (await redis.smembers(`${prefix}:app:${A.key}:g:vault`)).sort(), { timeout: 10_000, interval: 100 }).toEqual([a.clientId, b.clientId].sort());
    expect(await redis.hget(`${prefix}:app:${A.key}:users`, u.clientId)).toBe('keeper');
    expect(await redis.exists(`${prefix}:appnode:f1`, `${prefix}:appnode:f2`)).toBe(2);
    await call(f2.url, 'send_to_group', A.key, { groupName: 'vault', msg: 'after the loss' });
    await a.next((f) => f.msg === 'after the loss');
    await b.next((f) => f.msg === 'after the loss');
    expect((await okami(f1.url, 'send_to_client', { systemId: A.key, userId: 'keeper', msg: 'user after the loss' })).body.code).toBe(0);
    await u.next((f) => f.msg === 'user after the loss');
  });
  it('a leave whose write Redis never got (it was out of reach) is taken out once the node is back in touch', async () => {
    const [f1] = cluster.nodes as [TestNode];
    const kept = await connect(f1.url, A.key);
    const left = await connect(f1.url, A.key);
    for (const c of [kept, left]) await call(f1.url, 'bind_to_group', A.key, { clientId: c.clientId, groupName: 'stale' });
    left.ws.terminate();
    await expect.poll(async () => (await call(f1.url, 'get_online_list', A.key, { groupName: 'stale' })).data.count).toBe(1);
    // What Redis holds when that leave was lost: the membership, its node count and index entry.
    await redis.sadd(`${prefix}:app:${A.key}:g:stale`, left.clientId);
    await redis.hincrby(`${prefix}:app:${A.key}:gn:stale`, 'f1', 1);
    await redis.sadd(`${prefix}:appnode:f1`, JSON.stringify(['g', A.key, 'stale', left.clientId]));
    expect((await call(f1.url, 'get_online_list', A.key, { groupName: 'stale' })).data.count).toBe(2);
    // The node's connection to Redis drops (as when Redis restarts); once back, it puts its entries right.
    const clients = ((await redis.client('LIST')) as string).split('\n').filter((l) => l.includes(` name=${prefix}-f1 `));
    expect(clients.length).toBeGreaterThan(0);
    for (const line of clients) await redis.client('KILL', 'ID', line.match(/^id=(\d+)/)![1]!).catch(() => {});
    await expect.poll(async () => (await call(f1.url, 'get_online_list', A.key, { groupName: 'stale' })).data, { timeout: 10_000, interval: 100 }).toEqual({ count: 1, list: [kept.clientId] });
    expect(await redis.hget(`${prefix}:app:${A.key}:gn:stale`, 'f1')).toBe('1');
    expect(await redis.sismember(`${prefix}:appnode:f1`, JSON.stringify(['g', A.key, 'stale', kept.clientId]))).toBe(1);
  });
});

describe('realtime gateway apps: a node the others see gone for a moment', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  let etcd: Etcd3;
  beforeAll(async () => {
    cluster = await startClusterNodes(`appsl${Date.now()}`, ['l1', 'l2'], TRUSTED);
    etcd = new Etcd3({ hosts: inject('etcdUrl')! });
  });
  afterAll(async () => {
    await cluster.stop();
    etcd.close();
  });

  it('sends to its members still reach them and binds still run there while its registration is missing', async () => {
    const [l1, l2] = cluster.nodes as [TestNode, TestNode];
    const member = await connect(l1.url, A.key);
    await call(l2.url, 'bind_to_group', A.key, { clientId: member.clientId, groupName: 'watch' });
    // l1's key vanishes from etcd (as when its lease lapsed under load): l2 sees it gone, l1 does not know.
    await etcd.delete().key(`${l1.config.cluster.key_prefix}/nodes/l1`);
    await expect.poll(() => l2.node.cluster.discovery.isLive('l1'), { timeout: 5000, interval: 50 }).toBe(false);
    // l2 may clear l1's entries meanwhile; l1 writes them again within its check. Until the lease
    // is back lists leave l1's connections out, but sends and binds are not dropped.
    let n = 0;
    await expect.poll(async () => {
      await call(l2.url, 'send_to_group', A.key, { groupName: 'watch', msg: `gap ${++n}` });
      return member.messages().some((f) => typeof f.msg === 'string' && f.msg.startsWith('gap '));
    }, { timeout: 8000, interval: 200 }).toBe(true);
    expect((await call(l2.url, 'bind_to_group', A.key, { clientId: member.clientId, groupName: 'watch-2' })).code).toBe(0);
    const pushed = await call(l2.url, 'send_to_group', A.key, { groupName: 'watch-2', msg: 'bound in the gap' });
    expect(pushed.code).toBe(0);
    await member.next((f) => f.msg === 'bound in the gap');
    // Whatever l2 cleared meanwhile, l1 has written its entries back.
    const redis = new Redis(inject('redisUrl')!);
    try {
      const prefix = l1.config.cluster.key_prefix;
      await expect.poll(() => redis.exists(`${prefix}:appup:l1`), { timeout: 10_000, interval: 100 }).toBe(1);
      expect(await redis.sismember(`${prefix}:app:${A.key}:g:watch`, member.clientId)).toBe(1);
      expect(await redis.hkeys(`${prefix}:app:${A.key}:gn:watch`)).toEqual(['l1']);
    } finally {
      redis.disconnect();
    }
  });
});

describe('realtime gateway apps: a node that does not answer (stopped, not dead)', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  let frozen: ChildNode | undefined;
  beforeAll(async () => {
    cluster = await startClusterNodes(`appsz${Date.now()}`, ['z1'], { ...TRUSTED, WEIM_APPS_NODE_CALL_TIMEOUT_MS: '300' });
  });
  afterAll(async () => {
    if (frozen) process.kill(frozen.pid, 'SIGCONT');
    await frozen?.kill();
    await cluster.stop();
  });

  it('a call to its connection answers 503 app_node_unreachable after apps.node_call_timeout_ms while it is live, "no such client" once it is gone, and runs again once it is back', async () => {
    const z1 = cluster.nodes[0]!;
    frozen = await startChildNode({ ...clusterEnv(z1.config.cluster.key_prefix, 'z2', TRUSTED), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: cluster.dbUrl, WEIM_AUTH_JWT_SECRET: z1.config.auth.jwt_secret });
    const member = await connect(frozen.url, A.key);
    expect((await call(z1.url, 'bind_to_group', A.key, { clientId: member.clientId, groupName: 'g' })).code).toBe(0);
    process.kill(frozen.pid, 'SIGSTOP');
    // Within its 2-s lease: live, but silent.
    const silent = await call(z1.url, 'bind_to_group', A.key, { clientId: member.clientId, groupName: 'g2' });
    expect([silent.status, silent.msg]).toEqual([503, 'the node holding this connection did not answer in time, retry']);
    // Its lease runs out: the connection is gone with it.
    await expect.poll(() => z1.node.cluster.discovery.isLive('z2'), { timeout: 15_000, interval: 100 }).toBe(false);
    // As woodylan answers a bind of a client it does not have: success, and nothing bound.
    const gone = await call(z1.url, 'bind_to_group', A.key, { clientId: member.clientId, groupName: 'g3' });
    expect([gone.status, gone.code]).toEqual([200, 0]);
    expect((await call(z1.url, 'get_online_list', A.key, { groupName: 'g3' })).data).toEqual({ count: 0, list: null });
    // Back: it announces itself again, and the call runs there.
    process.kill(frozen.pid, 'SIGCONT');
    await expect.poll(() => z1.node.cluster.discovery.isLive('z2'), { timeout: 15_000, interval: 100 }).toBe(true);
    await expect.poll(async () => {
      await call(z1.url, 'bind_to_group', A.key, { clientId: member.clientId, groupName: 'g4' });
      return (await call(z1.url, 'get_online_list', A.key, { groupName: 'g4' })).data;
    }, { timeout: 15_000, interval: 200 }).toEqual({ count: 1, list: [member.clientId] });
  });
});

describe('realtime gateway apps: a node that drains', () => {
  it("its connections' departures reach the group's members on other nodes, one 1002 each, and not each other (they are all leaving)", async () => {
    // Paced closes (two a second), so a notice sent to this node's members reaches those still open.
    const cluster = await startClusterNodes(`appsd${Date.now()}`, ['d1', 'd2'], { ...TRUSTED, WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '2' });
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    try {
      const leaving = await Promise.all(Array.from({ length: 5 }, () => connect(n1.url, C.key)));
      const staying = await connect(n2.url, C.key);
      for (const c of [...leaving, staying]) await call(n2.url, 'bind_to_group', C.key, { clientId: c.clientId, groupName: 'arena' });
      await n1.stop();
      await expect.poll(() => leaving.map((c) => c.closed)).toEqual(Array(5).fill(1012));
      const departures = () => staying.frames.filter((f) => f.code === 1002).map((f) => JSON.parse(f.data).clientId as string);
      await expect.poll(() => departures().length, { interval: 20 }).toBe(5);
      expect(departures().sort()).toEqual(leaving.map((c) => c.clientId).sort());
      expect(leaving.flatMap((c) => c.frames.filter((f) => f.code === 1002))).toEqual([]);
      expect((await call(n2.url, 'get_online_list', C.key, { groupName: 'arena' })).data).toEqual({ count: 1, list: [staying.clientId] });
    } finally {
      await n2.stop();
      await cluster.shared.close();
    }
  });
});
