import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { clusterEnv, clusterRigAvailable, startClusterNodes } from './helpers/cluster.js';
import { login, registerUser } from './helpers/http.js';
import type { TestNode } from './helpers/node.js';
import { signedPush } from './helpers/push.js';
import { openSocket, TestSocket, wsUrl } from './helpers/ws.js';
import { waitUntil } from './helpers/wait.js';

const available = clusterRigAvailable();
if (!available) console.warn('!!! cluster caps suite needs MariaDB, Redis and etcd: SKIPPED (CI would fail instead)');
const SHOP = { app: 'shop', secret: randomBytes(24).toString('hex') };

/** Opens a socket from client address `ip` (a trusted proxy's X-Forwarded-For); resolves with it, or with the refusal's status. */
function fromAddress(url: string, ip: string): Promise<{ socket?: TestSocket; status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), { headers: { 'X-Forwarded-For': ip } });
    const socket = new TestSocket(ws);
    ws.once('open', () => resolve({ socket, status: 101 }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode! });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

let nextAddress = 0;

/** Signs a socket in (from an address of its own); resolves with Cmd 4's user id, or the refusal's Cmd 2 code and close code. */
async function signIn(url: string, token: string, sockets: TestSocket[]) {
  const s = await openSocket(url, { headers: { 'X-Forwarded-For': `198.18.0.${++nextAddress}` } });
  sockets.push(s);
  s.send({ Cmd: 3, Body: token });
  const answer = await s.next((f) => f.Cmd === 4 || f.Cmd === 2);
  if (answer.Cmd === 4) return { socket: s, signedIn: true };
  return { socket: s, signedIn: false, code: (answer as { Code?: number }).Code, closed: (await s.closed).code };
}

/** This file's waits: longer or slower than the shared default. */
const until = (check: () => boolean | Promise<boolean>, timeoutMs?: number) => waitUntil(check, timeoutMs ?? 8000, 100);

describe.runIf(available)('cluster: socket caps and push idempotency across nodes', () => {
  const prefix = `weim-cc-${randomBytes(4).toString('hex')}`;
  const settings = {
    WEIM_SERVER_TRUST_PROXY_HOPS: '1',
    WEIM_GATEWAY_MAX_SOCKETS_PER_IP: '3',
    WEIM_GATEWAY_MAX_SOCKETS_PER_USER: '2',
    WEIM_PUSH_APPS: `${SHOP.app}:${SHOP.secret}`,
  };
  let started: Awaited<ReturnType<typeof startClusterNodes>> | undefined;
  let n1: TestNode;
  let n2: TestNode;
  const sockets: TestSocket[] = [];

  beforeAll(async () => {
    started = await startClusterNodes(prefix, ['n1', 'n2'], settings);
    [n1, n2] = started.nodes as [TestNode, TestNode];
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await started?.stop();
  });

  it('a user\'s sockets count on every node: past max_sockets_per_user a sign-in on either node is refused (1005, close 4010)', async () => {
    const u = await registerUser(n1.api);
    const second = await login(n1.api, u.username);
    expect((await signIn(n1.url, u.token, sockets)).signedIn).toBe(true);
    const onN2 = await signIn(n2.url, second, sockets);
    expect(onN2.signedIn).toBe(true);
    for (const node of [n1, n2]) expect(await signIn(node.url, u.token, sockets)).toMatchObject({ signedIn: false, code: 1005, closed: 4010 });
    onN2.socket.close();
    await onN2.socket.closed;
    await until(async () => (await signIn(n1.url, u.token, sockets)).signedIn);
  });

  it('a client address\'s sockets count on every node: past max_sockets_per_ip the upgrade gets 429 on either node', async () => {
    const ip = '203.0.113.50';
    for (const node of [n1, n1, n2]) sockets.push((await fromAddress(node.url, ip)).socket!);
    for (const node of [n1, n2]) expect((await fromAddress(node.url, ip)).status).toBe(429);
    const other = await fromAddress(n2.url, '203.0.113.51');
    sockets.push(other.socket!);
    expect(other.status).toBe(101);
  });

  describe('a node that dies holding sockets', () => {
    let n3: ChildNode | undefined;
    afterAll(async () => {
      await n3?.kill();
    });

    it('its sockets stop counting once its lease is gone, though nothing cleared them', async () => {
      n3 = await startChildNode({ ...clusterEnv(prefix, 'n3', settings), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: started!.dbUrl, WEIM_LOG_LEVEL: 'silent' });
      await until(() => n1.node.cluster.discovery.isLive('n3'));
      const u = await registerUser(n1.api);
      const ip = '203.0.113.60';
      for (let i = 0; i < 2; i++) expect((await signIn(n3.url, u.token, sockets)).signedIn).toBe(true);
      for (let i = 0; i < 3; i++) sockets.push((await fromAddress(n3.url, ip)).socket!);
      expect(await signIn(n1.url, u.token, sockets)).toMatchObject({ signedIn: false, closed: 4010 });
      expect((await fromAddress(n1.url, ip)).status).toBe(429);
      await n3.kill();
      n3 = undefined;
      await until(() => !n1.node.cluster.discovery.isLive('n3'));
      const freed = await fromAddress(n1.url, ip);
      sockets.push(freed.socket!);
      expect(freed.status).toBe(101);
      expect((await signIn(n2.url, u.token, sockets)).signedIn).toBe(true);
      // Freed by the lease (2 s here), not by the dead node's hash expiring: the hash is still there.
      const redis = new Redis(inject('redisUrl')!);
      expect(await redis.exists(`${prefix}:sockets:n3`)).toBe(1);
      redis.disconnect();
    });
  });

  it('an Idempotency-Key used on one node is answered from the store on the other, and a different body there is 422', async () => {
    const u = await registerUser(n1.api);
    const key = `k-${randomBytes(6).toString('hex')}`;
    const body = { user_ids: [u.user.id], body: 'across nodes' };
    const onN1 = signedPush(n1.api, '/push/users', body, SHOP, { 'Idempotency-Key': key });
    const first = await onN1.send();
    expect(first.code).toBe(0);
    // The same request (its nonce included), retried through the other node.
    const onN2 = signedPush(n2.api, '/push/users', body, { ...SHOP, nonce: onN1.nonce }, { 'Idempotency-Key': key });
    const retried = await onN2.send();
    expect([retried.status, retried.text, retried.headers.get('idempotent-replayed')]).toEqual([200, first.text, 'true']);
    const other = await signedPush(n2.api, '/push/users', { ...body, body: 'else' }, SHOP, { 'Idempotency-Key': key }).send();
    expect([other.status, other.code]).toEqual([422, 1000]);
    const events = await n1.dbh.db.selectFrom('user_events').select('body').where('user_id', '=', u.user.id).execute();
    expect(events.map((e) => e.body)).toEqual(['across nodes']);
  });
});
