import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { xlveinSign } from '../src/modules/apps/index.js';
import { signPush } from '../src/modules/push/push.auth.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { clusterEnv, startClusterNodes } from './helpers/cluster.js';
import { testDialects } from './helpers/database.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { A, AppClient, appApi, APPS, B, C, call, closeOpenClients, connect, okami, open, settle } from './helpers/app-clients.js';

afterEach(() => closeOpenClients());

describe.each(testDialects())('realtime gateway apps, woodylan drop-in, on %s', (dialect) => {
  /** Trusts loopback: unsigned calls, as woodylan's users make them. */
  let trusting: TestNode;
  /** Trusts no network: every call must be signed. */
  let strict: TestNode;
  beforeAll(async () => {
    trusting = await startTestNode(dialect, { WEIM_APPS_LIST: APPS, WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128' });
    strict = await startTestNode(dialect, { WEIM_APPS_LIST: APPS });
  });
  afterAll(async () => {
    await trusting.stop();
    await strict.stop();
  });

  it('connect, send to a client, bind to a group (1001 to every member), send to the group, list, close (1002 to the rest)', async () => {
    const base = trusting.url;
    const c1 = await connect(base, A.key);
    const c2 = await connect(base, A.key, '/api/websocket/ws');
    expect(c1.frames[0]).toEqual({ code: 0, msg: 'success', data: { clientId: expect.stringMatching(/^[\w-]+\.[\w-]{12}\.[\w-]{16}$/) } });
    expect(c2.frames[0]).toEqual({ code: 0, data: { client: expect.any(String) }, msg: 'connect success' });
    expect(c1.clientId).not.toBe(c2.clientId);

    expect(await call(base, 'register', undefined, { systemId: A.key })).toEqual({ status: 200, code: 0, msg: 'success', data: [] });
    const sent = await call(base, 'send_to_client', A.key, { clientId: c1.clientId, sendUserId: 'u9', code: 200, msg: 'hi', data: '{"t":1}' });
    expect(sent).toEqual({ status: 200, code: 0, msg: 'success', data: { messageId: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    const got = await c1.next((f) => f.msg === 'hi');
    expect(got).toEqual({ messageId: sent.data.messageId, sendUserId: 'u9', code: 200, msg: 'hi', data: '{"t":1}' });
    expect(JSON.stringify(got)).toBe(`{"messageId":"${sent.data.messageId}","sendUserId":"u9","code":200,"msg":"hi","data":"{\\"t\\":1}"}`);
    expect(c2.messages()).toEqual([]);

    expect((await call(base, 'bind_to_group', A.key, { clientId: c1.clientId, groupName: 'room', userId: 'alice', extend: 'x' })).code).toBe(0);
    const online1 = await c1.next((f) => f.code === 1001);
    expect(online1).toEqual({ messageId: expect.any(String), sendUserId: '', code: 1001, msg: '客户端上线', data: JSON.stringify({ clientId: c1.clientId, extend: 'x', userId: 'alice' }) });
    await call(base, 'bind_to_group', A.key, { clientId: c2.clientId, groupName: 'room', userId: 'bob' });
    await c1.next((f) => f.code === 1001 && JSON.parse(f.data).userId === 'bob');
    await c2.next((f) => f.code === 1001 && JSON.parse(f.data).userId === 'bob');

    const group = await call(base, 'send_to_group', A.key, { groupName: 'room', sendUserId: 's', code: 7, msg: 'all', data: { as: 'object' } });
    for (const c of [c1, c2]) expect(await c.next((f) => f.msg === 'all')).toEqual({ messageId: group.data.messageId, sendUserId: 's', code: 7, msg: 'all', data: '{"as":"object"}' });

    const list = await call(base, 'get_online_list', A.key, { groupName: 'room' });
    expect(list.data.count).toBe(2);
    expect([...list.data.list].sort()).toEqual([c1.clientId, c2.clientId].sort());
    expect((await call(base, 'get_online_list', A.key, { groupName: 'empty' })).data).toEqual({ count: 0, list: null });

    expect(await call(base, 'close_client', A.key, { clientId: c2.clientId })).toEqual({ status: 200, code: 0, msg: 'success', data: {} });
    await c2.next(() => c2.closed !== undefined);
    const offline = await c1.next((f) => f.code === 1002);
    expect(JSON.parse(offline.data)).toEqual({ clientId: c2.clientId, extend: '', userId: 'bob' });
    await settle();
    expect((await call(base, 'get_online_list', A.key, { groupName: 'room' })).data).toEqual({ count: 1, list: [c1.clientId] });

    const many = await call(base, 'send_to_clients', A.key, { clientIds: [c1.clientId, 'not-a-client'], msg: 'many' });
    expect(many).toEqual({ status: 200, code: 0, msg: 'success', data: [] });
    await c1.next((f) => f.msg === 'many');
  });

  it('an app written for goravel-socket gets its answers: no code, its data shapes and texts, errors as {fail, msg}', async () => {
    const base = trusting.url;
    const c1 = await connect(base, C.key);
    const c2 = await connect(base, C.key);
    const raw = async (route: string, body: Record<string, unknown>) => {
      const res = await fetch(`${base}/api/${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json', SystemId: C.key }, body: JSON.stringify(body) });
      return res.text();
    };
    expect(await raw('register', { systemId: C.key })).toBe('{"data":[],"msg":"success"}');
    expect(await raw('bind_to_group', { clientId: c1.clientId, groupName: 'arena', userId: 'p1', extend: '{}' })).toBe('{"data":"success","msg":"发送成功"}');
    expect(JSON.parse(await raw('send_to_client', { clientId: c2.clientId, sendUserId: 'p1', code: 1, msg: 'move', data: '{"x":1}' }))).toEqual({ data: [{ messageId: expect.stringMatching(/^[0-9a-f]{16}$/) }], msg: 'success' });
    await c2.next((f) => f.msg === 'move');
    expect(await raw('send_to_clients', { clientIds: [c1.clientId, c2.clientId], msg: 'both' })).toBe('{"data":"","msg":"success"}');
    expect(JSON.parse(await raw('send_to_group', { groupName: 'arena', msg: 'round' }))).toEqual({ data: { messageId: expect.any(String) }, msg: '发送成功' });
    await c1.next((f) => f.msg === 'round');
    expect(await raw('get_online_list', { groupName: 'arena' })).toBe(`{"data":{"count":1,"list":["${c1.clientId}"]},"msg":"发送成功"}`);
    expect(await raw('close_client', { clientId: c2.clientId })).toBe('{"data":"success","msg":"退出成功"}');
    expect(await raw('send_to_client', { msg: 'no client' })).toBe('{"fail":"ClientId为必填字段","msg":"error"}');
    await c2.next(() => c2.closed !== undefined);
  });

  it('apps cannot reach each other: another app\'s clientId, group or connection is nothing to it', async () => {
    const base = trusting.url;
    const a = await connect(base, A.key);
    const b = await connect(base, B.key);
    await call(base, 'bind_to_group', A.key, { clientId: a.clientId, groupName: 'shared-name' });
    // B names A's client and group: nothing reaches A, nothing is listed, nothing is closed.
    expect((await call(base, 'send_to_client', B.key, { clientId: a.clientId, msg: 'from b' })).code).toBe(0);
    expect((await call(base, 'send_to_group', B.key, { groupName: 'shared-name', msg: 'from b' })).code).toBe(0);
    expect((await call(base, 'bind_to_group', B.key, { clientId: a.clientId, groupName: 'b-room' })).code).toBe(0);
    expect((await call(base, 'get_online_list', B.key, { groupName: 'shared-name' })).data).toEqual({ count: 0, list: null });
    expect((await call(base, 'close_client', B.key, { clientId: a.clientId })).code).toBe(0);
    await settle(300);
    expect(a.messages().filter((f) => f.msg === 'from b')).toEqual([]);
    expect(a.closed).toBeUndefined();
    expect((await call(base, 'get_online_list', B.key, { groupName: 'b-room' })).data.count).toBe(0);
    // A forged id (A's id with its MAC altered) is no client either.
    const forged = `${a.clientId.slice(0, -1)}${a.clientId.endsWith('A') ? 'B' : 'A'}`;
    await call(base, 'send_to_client', A.key, { clientId: forged, msg: 'forged' });
    await settle();
    expect(a.messages().filter((f) => f.msg === 'forged')).toEqual([]);
    // B's own sends still work.
    await call(base, 'send_to_client', B.key, { clientId: b.clientId, msg: 'to b' });
    await b.next((f) => f.msg === 'to b');
  });

  it('refuses unknown apps, missing SystemId and bad bodies with woodylan\'s answers, changing nothing', async () => {
    const base = trusting.url;
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?systemId=nobody`);
    const refused = new AppClient(ws);
    await refused.next(() => refused.closed !== undefined);
    expect(refused.frames).toEqual([{ messageId: '', sendUserId: '', code: -1001, msg: '系统ID无效', data: [] }]);
    expect(await call(base, 'send_to_client', undefined, { clientId: 'x' })).toEqual({ status: 200, code: -1, msg: '系统ID不能为空', data: [] });
    expect(await call(base, 'send_to_client', 'nobody', { clientId: 'x' })).toEqual({ status: 200, code: -1, msg: '系统ID无效', data: [] });
    expect(await call(base, 'send_to_client', A.key, { msg: 'no client' })).toEqual({ status: 200, code: -1, msg: 'ClientId为必填字段', data: [] });
    expect((await call(base, 'register', undefined, { systemId: 'not-configured' })).code).toBe(-1);
    // The IM gateway at /ws without systemId is untouched.
    const im = new WebSocket(`${base.replace(/^http/, 'ws')}/ws`);
    await new Promise<void>((resolve) => im.once('open', () => resolve()));
    im.terminate();
  });

  it('without a trusted network every call is signed with the app\'s secret, and a nonce works once', async () => {
    const base = strict.url;
    const c = await connect(base, A.key);
    const unsigned = await call(base, 'send_to_client', A.key, { clientId: c.clientId, msg: 'unsigned' });
    expect([unsigned.status, unsigned.code]).toEqual([401, -1]);
    const wrongSecret = await call(base, 'send_to_client', A.key, { clientId: c.clientId, msg: 'wrong' }, B.secret);
    expect([wrongSecret.status, wrongSecret.code]).toEqual([401, -1]);
    const nonce = randomBytes(12).toString('hex');
    expect((await call(base, 'send_to_client', A.key, { clientId: c.clientId, msg: 'signed' }, A.secret, nonce)).code).toBe(0);
    const replay = await call(base, 'send_to_client', A.key, { clientId: c.clientId, msg: 'signed' }, A.secret, nonce);
    expect([replay.status, replay.code, replay.msg]).toEqual([401, -1, 'this nonce was used before (a replayed request)']);
    await settle();
    expect(c.messages().map((f) => f.msg)).toEqual(['signed']);
    // The apps are rows of the apps table.
    const rows = await strict.dbh.db.selectFrom('apps').select(['app_key', 'name', 'enabled']).orderBy('app_key').execute();
    expect(rows.map((r) => [r.app_key, r.name, Number(r.enabled)])).toEqual([[C.key, C.name, 1], [A.key, A.name, 1], [B.key, B.name, 1]]);
  });
});

describe('realtime gateway apps: configuration', () => {
  it('a malformed app or trusted network stops the start with the key named', () => {
    const configFile = new URL('../config.yml', import.meta.url).pathname;
    expect(() => loadConfig({ WEIM_CONFIG: configFile, WEIM_APPS_TRUSTED_NETWORKS: '10.0.0.0/99' })).toThrow(/apps\.trusted_networks: must be comma-separated CIDRs/);
    expect(() => loadConfig({ WEIM_CONFIG: configFile, WEIM_APPS_LIST: '[{"key":"a b","name":"x","secret":"short"}]' })).toThrow(/apps\.list\.0\.key[\s\S]*apps\.list\.0\.secret: must be at least 32 characters/);
  });
});

describe('realtime gateway apps across two nodes (MariaDB, Redis, etcd)', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  beforeAll(async () => {
    cluster = await startClusterNodes(`apps${Date.now()}`, ['n1', 'n2'], { WEIM_APPS_LIST: APPS, WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128' });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('a call to either node reaches the client on the other; a group spans both; lists and closes work across', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const c1 = await connect(n1.url, A.key);
    const c2 = await connect(n2.url, A.key);
    const sent = await call(n2.url, 'send_to_client', A.key, { clientId: c1.clientId, msg: 'across' });
    expect(await c1.next((f) => f.msg === 'across')).toMatchObject({ messageId: sent.data.messageId });
    // Binds through the node that does not hold the connection.
    await call(n2.url, 'bind_to_group', A.key, { clientId: c1.clientId, groupName: 'hall' });
    await call(n1.url, 'bind_to_group', A.key, { clientId: c2.clientId, groupName: 'hall' });
    await c1.next((f) => f.code === 1001 && JSON.parse(f.data).clientId === c2.clientId);
    for (const n of [n1, n2]) {
      await expect.poll(async () => (await call(n.url, 'get_online_list', A.key, { groupName: 'hall' })).data.count).toBe(2);
    }
    await call(n1.url, 'send_to_group', A.key, { groupName: 'hall', msg: 'to the hall' });
    await c1.next((f) => f.msg === 'to the hall');
    await c2.next((f) => f.msg === 'to the hall');
    await call(n1.url, 'close_client', A.key, { clientId: c2.clientId });
    await c2.next(() => c2.closed !== undefined);
    await c1.next((f) => f.code === 1002);
    await expect.poll(async () => (await call(n1.url, 'get_online_list', A.key, { groupName: 'hall' })).data).toEqual({ count: 1, list: [c1.clientId] });
    expect(await (await fetch(`${n1.url}/metrics`)).text()).toMatch(/^weim_app_connections 1$/m);
    // Exactly one copy each: the group send went to each node once.
    expect(c1.messages().filter((f) => f.msg === 'to the hall')).toHaveLength(1);
  });
});

/** An xlvein client: `/ws/connect?app_id=&token=`, no greeting; every frame kept. */
async function xlveinClient(base: string, app: { key: string; secret: string }, sub: string): Promise<AppClient> {
  const token = jwt.sign({ sub, iss: 'TimeToken' }, app.secret, { algorithm: 'HS256', expiresIn: '1h' });
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/connect?app_id=${app.key}&token=${token}`);
  const client = new AppClient(ws);
  open.push(client);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

/** xlvein's push, as its SDK sends it (a form), with weim's `ts`; `sign` computed unless given. */
async function xlveinPush(base: string, fields: Record<string, string>, secret: string) {
  const body = new URLSearchParams({ ...fields, sign: fields.sign ?? xlveinSign({ app_key: fields.app_key!, message: fields.message!, nonce: fields.nonce!, send_to: fields.send_to!, ts: fields.ts! }, secret) });
  const res = await fetch(`${base}/api/v1/im/push`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The answer to a WebSocket upgrade request that is refused before the upgrade (fetch does not send upgrades). */
function connectAnswer(base: string, query: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}/ws/connect?${query}`, { headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') } });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('response', (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.each(testDialects())('realtime gateway apps, xlvein drop-in, on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_APPS_LIST: APPS });
  });
  afterAll(async () => {
    await t.stop();
  });
  const nonce = () => randomBytes(12).toString('hex');
  const now = () => String(Math.floor(Date.now() / 1000));

  it('clients are their app\'s users: a frame to a user reaches each of its connections, and no other app\'s user of that name', async () => {
    const u1 = await xlveinClient(t.url, A, 'u1');
    const u2a = await xlveinClient(t.url, A, 'u2');
    const u2b = await xlveinClient(t.url, A, 'u2');
    const otherApp = await xlveinClient(t.url, B, 'u2');
    await settle(100);
    u1.ws.send(JSON.stringify({ to: 'u2', data: { text: 'hi' } }));
    u1.ws.send(JSON.stringify({ to: 'u2', event: 2, data: { text: 'room?' } }));
    u1.ws.send('not json');
    for (const c of [u2a, u2b]) {
      const got = await c.next((f) => f.data?.text === 'hi');
      expect(got).toEqual({ from: 'u1', to: 'u2', event: 1, data: { text: 'hi' }, msg_id: expect.any(String), send_at: expect.any(Number), conversation_id: 'u2' });
      expect(String(got.send_at)).toHaveLength(10);
      expect(Object.keys(got)).toEqual(['from', 'to', 'event', 'data', 'msg_id', 'send_at', 'conversation_id']);
      expect((await c.next((f) => f.data?.text === 'room?')).event).toBe(1);
    }
    await settle();
    expect(u1.frames).toEqual([]);
    expect(otherApp.frames).toEqual([]);
  });

  it('a connection without app, token or with a wrong token gets xlvein\'s answer before any upgrade', async () => {
    expect(await connectAnswer(t.url, 'app_id=shop-a')).toEqual({ status: 200, body: { code: 400, detail: '', msg: '请求参数错误' } });
    expect(await connectAnswer(t.url, 'app_id=nobody&token=x')).toEqual({ status: 200, body: { code: 1001, detail: '', msg: 'internal not found' } });
    const wrongKey = jwt.sign({ sub: 'u1' }, B.secret, { algorithm: 'HS256', expiresIn: '1h' });
    const noExp = jwt.sign({ sub: 'u1' }, A.secret, { algorithm: 'HS256' });
    for (const token of [wrongKey, noExp, 'garbage']) expect(await connectAnswer(t.url, `app_id=${A.key}&token=${token}`)).toEqual({ status: 200, body: { code: 1000, detail: '', msg: '错误的Token' } });
  });

  it('the backend\'s signed push reaches the user; a replay, a bad sign, a stale ts and a non-object message are refused', async () => {
    const u = await xlveinClient(t.url, A, 'buyer');
    await settle(100);
    const fields = { app_key: A.key, send_to: 'buyer', message: '{"text":"paid"}', nonce: nonce(), ts: now() };
    expect(await xlveinPush(t.url, fields, A.secret)).toEqual({ status: 200, body: { error: 0, data: {}, message: '' } });
    const got = await u.next((f) => f.data?.text === 'paid');
    expect(got).toEqual({ to: 'buyer', data: { text: 'paid' }, msg_id: expect.any(String), send_at: expect.any(Number) });
    expect(String(got.send_at)).toHaveLength(13);
    expect((await xlveinPush(t.url, fields, A.secret)).body).toEqual({ error: 1002, message: 'nonce used before (a replayed push)' });
    expect((await xlveinPush(t.url, { ...fields, nonce: nonce() }, B.secret)).body).toMatchObject({ error: 1002 });
    expect((await xlveinPush(t.url, { ...fields, nonce: nonce(), ts: String(Math.floor(Date.now() / 1000) - 3600) }, A.secret)).body).toMatchObject({ error: 1002 });
    expect((await xlveinPush(t.url, { ...fields, nonce: nonce(), message: '[1]' }, A.secret)).body).toEqual({ error: 1003, message: 'message must be a JSON object' });
    expect((await xlveinPush(t.url, { ...fields, nonce: nonce(), app_key: 'nobody' }, A.secret)).body).toEqual({ error: 1001, message: 'app not found' });
    const { ts: _, ...noTs } = fields;
    expect((await xlveinPush(t.url, { ...noTs, nonce: nonce(), ts: '' }, A.secret)).body).toEqual({ error: 400, message: '请求参数错误: ts' });
    await settle();
    expect(u.frames.filter((f) => f.data?.text === 'paid')).toHaveLength(1);
  });
});

describe('realtime gateway apps: a node that dies', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  let doomed: ChildNode | undefined;
  beforeAll(async () => {
    cluster = await startClusterNodes(`appsdead${Date.now()}`, ['survivor'], { WEIM_APPS_LIST: APPS, WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128' });
  });
  afterAll(async () => {
    await doomed?.kill();
    await cluster.stop();
  });

  it('its connections leave every online list and group send within the lease, without being closed by anyone', async () => {
    const survivor = cluster.nodes[0]!;
    const prefix = survivor.config.cluster.key_prefix;
    doomed = await startChildNode({ ...clusterEnv(prefix, 'doomed', { WEIM_APPS_LIST: APPS, WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128' }), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: cluster.dbUrl, WEIM_AUTH_JWT_SECRET: survivor.config.auth.jwt_secret });
    const here = await connect(survivor.url, A.key);
    const there = await connect(doomed.url, A.key);
    await call(survivor.url, 'bind_to_group', A.key, { clientId: here.clientId, groupName: 'room' });
    await call(survivor.url, 'bind_to_group', A.key, { clientId: there.clientId, groupName: 'room' });
    await expect.poll(async () => (await call(survivor.url, 'get_online_list', A.key, { groupName: 'room' })).data.count).toBe(2);
    await doomed.kill();
    doomed = undefined;
    const killedAt = Date.now();
    await expect.poll(async () => (await call(survivor.url, 'get_online_list', A.key, { groupName: 'room' })).data, { timeout: 8000, interval: 100 }).toEqual({ count: 1, list: [here.clientId] });
    // The lease is 2 s: gone from the list within it (and the discovery's notice).
    expect(Date.now() - killedAt).toBeLessThan(6000);
    // A send to the group still reaches the survivor's member, and a send to the dead one answers as woodylan does.
    await call(survivor.url, 'send_to_group', A.key, { groupName: 'room', msg: 'after' });
    await here.next((f) => f.msg === 'after');
    expect((await call(survivor.url, 'send_to_client', A.key, { clientId: there.clientId, msg: 'x' })).code).toBe(0);
  });
});

describe('realtime gateway apps, xlvein across two nodes', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  beforeAll(async () => {
    cluster = await startClusterNodes(`xlv${Date.now()}`, ['x1', 'x2'], { WEIM_APPS_LIST: APPS });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('a user\'s connections on both nodes get a relayed frame and a push made on either node', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const sender = await xlveinClient(n1.url, A, 's');
    const onN1 = await xlveinClient(n1.url, A, 'r');
    const onN2 = await xlveinClient(n2.url, A, 'r');
    await settle(200);
    sender.ws.send(JSON.stringify({ to: 'r', data: { n: 1 } }));
    await onN1.next((f) => f.data?.n === 1);
    await onN2.next((f) => f.data?.n === 1);
    const fields = { app_key: A.key, send_to: 'r', message: '{"n":2}', nonce: randomBytes(12).toString('hex'), ts: String(Math.floor(Date.now() / 1000)) };
    expect((await xlveinPush(n2.url, fields, A.secret)).body).toMatchObject({ error: 0 });
    await onN1.next((f) => f.data?.n === 2);
    await onN2.next((f) => f.data?.n === 2);
    // The nonce is spent cluster-wide.
    expect((await xlveinPush(n1.url, fields, A.secret)).body).toMatchObject({ error: 1002 });
  });
});


describe.each(testDialects())('realtime gateway apps, goravel-websocket drop-in, on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_APPS_LIST: APPS, WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('its routes with systemId in the body and its sorted envelope: send by client or user, system, bind, list, close, kick', async () => {
    const token = jwt.sign({ sub: 'guard-user' }, A.secret, { algorithm: 'HS256', expiresIn: '1h' });
    const c1 = await connect(t.url, A.key, '/api/websocket/ws');
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/api/websocket/ws?systemId=${A.key}&token=${token}`);
    const c2 = new AppClient(ws);
    open.push(c2);
    await c2.next(() => true);
    const other = await connect(t.url, B.key, '/api/websocket/ws');

    const reg = await okami(t.url, 'register', { system_id: A.key });
    expect(reg.text).toBe('{"code":0,"data":[],"msg":"success"}');
    const toClient = await okami(t.url, 'send_to_client', { systemId: A.key, clientId: c1.clientId, sendUserId: 's', code: 1, msg: 'one', data: { k: 'v' } });
    expect(toClient.body).toEqual({ code: 0, data: { messages: [expect.stringMatching(/^[0-9a-f]{16}$/)] }, msg: 'success' });
    expect(await c1.next((f) => f.msg === 'one')).toEqual({ messageId: toClient.body.data.messages[0], sendUserId: 's', code: 1, msg: 'one', data: '{"k":"v"}' });
    // By user: the connection whose token named it.
    const toUser = await okami(t.url, 'send_to_client', { systemId: A.key, userId: 'guard-user', msg: 'by user' });
    expect(toUser.body.data.messages).toHaveLength(1);
    await c2.next((f) => f.msg === 'by user');
    expect((await okami(t.url, 'send_to_client', { systemId: A.key, userId: 'nobody', msg: 'x' })).body).toEqual({ code: 404, data: [], msg: 'client not found' });
    // To the whole system: both of A's connections, not B's.
    await okami(t.url, 'send_to_system', { systemId: A.key, msg: 'everyone' });
    await c1.next((f) => f.msg === 'everyone');
    await c2.next((f) => f.msg === 'everyone');
    expect((await okami(t.url, 'bind_to_group', { systemId: A.key, clientId: c1.clientId, groupName: 'g' })).body).toEqual({ code: 0, data: [], msg: 'success' });
    expect((await okami(t.url, 'online_list', { systemId: A.key, groupName: 'g' })).body).toEqual({ code: 0, data: { count: 1, list: [c1.clientId] }, msg: 'success' });
    expect((await okami(t.url, 'close', { systemId: A.key, clientId: c1.clientId })).body).toEqual({ code: 0, data: [c1.clientId], msg: 'success' });
    await c1.next(() => c1.closed !== undefined);
    expect((await okami(t.url, 'kick_user', { systemId: A.key, userId: 'guard-user' })).body).toEqual({ code: 0, data: [c2.clientId], msg: 'success' });
    await c2.next(() => c2.closed !== undefined);
    expect((await okami(t.url, 'kick_user', { systemId: A.key, userId: 'guard-user' })).body).toEqual({ code: 500, data: [], msg: '客户端不存在' });
    expect((await okami(t.url, 'online_list', { systemId: A.key })).body).toMatchObject({ code: 500, data: [] });
    await settle();
    expect(other.messages()).toEqual([]);
    expect(other.closed).toBeUndefined();
  });
});

describe.each(testDialects())('realtime gateway apps: lifecycle webhooks on %s', (dialect) => {
  const events: Array<{ type: string; data: Record<string, unknown> }> = [];
  const receiver = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      events.push(...(JSON.parse(raw) as { events: typeof events }).events);
      res.writeHead(200).end('{}');
    });
  });
  let t: TestNode;
  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
    t = await startTestNode(dialect, {
      WEIM_APPS_LIST: APPS,
      WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8,::1/128',
      WEIM_WEBHOOKS_URL: url,
      WEIM_WEBHOOKS_SECRET: 'webhook-secret-of-at-least-32-chars!!',
      WEIM_WEBHOOKS_EVENTS: 'app.connected,app.disconnected,app.bound,app.joined',
      WEIM_WEBHOOKS_INTERVAL_MS: '50',
    });
  });
  afterAll(async () => {
    await t.stop();
    receiver.close();
  });

  it('connect, bind (a token\'s user), join and disconnect are webhook events, in order per connection', async () => {
    const c = await xlveinClient(t.url, A, 'watched');
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(2);
    const id = events[0]!.data.client_id as string;
    await call(t.url, 'bind_to_group', A.key, { clientId: id, groupName: 'lobby' });
    c.ws.close();
    await expect.poll(() => events.length, { timeout: 5000 }).toBe(4);
    expect(events.map((e) => e.type)).toEqual(['app.connected', 'app.bound', 'app.joined', 'app.disconnected']);
    expect(events[1]!.data).toEqual({ app: A.key, client_id: id, node: expect.any(String), user_id: 'watched' });
    expect(events[2]!.data).toMatchObject({ group: 'lobby' });
  });
});


describe.each(testDialects())('realtime gateway apps, weim\'s signed app API, on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_APPS_LIST: APPS });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('sends to connections, a user, a channel and the whole app; binds, joins, leaves, lists, closes and kicks; another app reaches none of it', async () => {
    const c1 = await connect(t.url, A.key);
    const c2 = await connect(t.url, A.key);
    const b = await connect(t.url, B.key);
    expect((await appApi(t.url, 'send', A, { client_ids: [c1.clientId], msg: 'direct', data: { a: 1 } })).data).toEqual({ message_id: expect.stringMatching(/^[0-9a-f]{16}$/) });
    expect(await c1.next((f) => f.msg === 'direct')).toMatchObject({ data: '{"a":1}' });
    expect((await appApi(t.url, 'bind', A, { client_id: c2.clientId, user_id: 'carol' })).code).toBe(0);
    expect((await appApi(t.url, 'send', A, { user_id: 'carol', msg: 'to carol' })).data.message_ids).toHaveLength(1);
    await c2.next((f) => f.msg === 'to carol');
    expect((await appApi(t.url, 'online', A, { user_id: 'carol' })).data).toEqual({ count: 1, online: true, client_ids: [c2.clientId], page: 1, page_size: 100 });
    await appApi(t.url, 'join', A, { client_id: c1.clientId, channel: 'news' });
    await appApi(t.url, 'join', A, { client_id: c2.clientId, channel: 'news' });
    await c1.next((f) => f.code === 1001 && JSON.parse(f.data).clientId === c2.clientId);
    const page = await appApi(t.url, 'online', A, { channel: 'news', page: 2, page_size: 1 });
    expect(page.data).toEqual({ count: 2, online: true, client_ids: [[c1.clientId, c2.clientId].sort()[1]], page: 2, page_size: 1, user_count: 1, user_ids: [] });
    expect((await appApi(t.url, 'online', A, { channel: 'news' })).data).toMatchObject({ count: 2, user_count: 1, user_ids: ['carol'] });
    expect((await appApi(t.url, 'online', A, { client_id: c1.clientId })).data).toEqual({ online: true });
    expect((await appApi(t.url, 'online', B, { client_id: c1.clientId })).data).toEqual({ online: false });
    await appApi(t.url, 'send', A, { channel: 'news', msg: 'headline' });
    await c1.next((f) => f.msg === 'headline');
    await c2.next((f) => f.msg === 'headline');
    await appApi(t.url, 'leave', A, { client_id: c2.clientId, channel: 'news' });
    await c1.next((f) => f.code === 1002);
    // Without presence: the others are not told.
    const quiet = await connect(t.url, A.key);
    await appApi(t.url, 'join', A, { client_id: quiet.clientId, channel: 'news', presence: false });
    await appApi(t.url, 'leave', A, { client_id: quiet.clientId, channel: 'news', presence: false });
    await appApi(t.url, 'send', A, { all: true, msg: 'everyone' });
    await c1.next((f) => f.msg === 'everyone');
    await c2.next((f) => f.msg === 'everyone');
    // Another app: A's connections are not its to reach.
    const foreign = await appApi(t.url, 'close', B, { client_id: c1.clientId });
    expect([foreign.status, foreign.code, foreign.reason]).toEqual([404, 1002, 'app_client_not_found']);
    await appApi(t.url, 'send', B, { client_ids: [c1.clientId], msg: 'from b' });
    expect((await appApi(t.url, 'online', B, { channel: 'news' })).data.count).toBe(0);
    expect((await appApi(t.url, 'kick', B, { user_id: 'carol' })).data).toEqual({ closed: [] });
    expect((await appApi(t.url, 'kick', A, { user_id: 'carol' })).data).toEqual({ closed: [c2.clientId] });
    await c2.next(() => c2.closed !== undefined);
    expect((await appApi(t.url, 'close', A, { client_id: c1.clientId })).code).toBe(0);
    await c1.next(() => c1.closed !== undefined);
    await expect.poll(async () => (await appApi(t.url, 'online', A, { client_id: c1.clientId })).data).toEqual({ online: false });
    expect(c1.messages().filter((f) => f.msg === 'from b')).toEqual([]);
    expect(c1.messages().filter((f) => (f.code === 1001 || f.code === 1002) && JSON.parse(f.data).clientId === quiet.clientId)).toEqual([]);
    expect(b.messages().filter((f) => f.msg === 'everyone')).toEqual([]);
  });

  it('refuses a replayed request, a wrong secret and bad input; an Idempotency-Key retry is sent once', async () => {
    const c = await connect(t.url, A.key);
    const nonce = randomBytes(12).toString('hex');
    const first = await appApi(t.url, 'send', A, { client_ids: [c.clientId], msg: 'once' }, { 'Idempotency-Key': 'k-1' }, nonce);
    const retry = await appApi(t.url, 'send', A, { client_ids: [c.clientId], msg: 'once' }, { 'Idempotency-Key': 'k-1' }, nonce);
    expect(retry.data).toEqual(first.data);
    const replay = await appApi(t.url, 'send', A, { client_ids: [c.clientId], msg: 'once' }, {}, nonce);
    expect([replay.status, replay.reason]).toEqual([401, 'nonce_replayed']);
    const wrong = await appApi(t.url, 'send', { key: A.key, secret: B.secret }, { client_ids: [c.clientId], msg: 'x' });
    expect([wrong.status, wrong.reason]).toEqual([401, 'push_signature_bad']);
    const two = await appApi(t.url, 'send', A, { client_ids: [c.clientId], channel: 'x', msg: 'x' });
    expect([two.status, two.reason]).toEqual([400, 'invalid_field']);
    await settle();
    expect(c.messages().map((f) => f.msg)).toEqual(['once']);
  });
});

describe('realtime gateway apps: per-connection info across two nodes', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  beforeAll(async () => {
    cluster = await startClusterNodes(`appsinfo${Date.now()}`, ['i1', 'i2'], { WEIM_APPS_LIST: APPS });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('set, merge and get through either node; gone when the connection closes; another app sees none', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const c = await connect(n1.url, A.key);
    expect((await appApi(n2.url, 'info', A, { client_id: c.clientId })).data).toEqual({ info: {} });
    expect((await appApi(n2.url, 'info/set', A, { client_id: c.clientId, info: { room: '7', role: 'host' } })).code).toBe(0);
    await expect.poll(async () => (await appApi(n1.url, 'info', A, { client_id: c.clientId })).data.info).toEqual({ room: '7', role: 'host' });
    await appApi(n1.url, 'info/merge', A, { client_id: c.clientId, info: { role: 'guest', seat: '3' } });
    expect((await appApi(n2.url, 'info', A, { client_id: c.clientId })).data.info).toEqual({ room: '7', role: 'guest', seat: '3' });
    await appApi(n2.url, 'info/set', A, { client_id: c.clientId, info: { only: 'this' } });
    await expect.poll(async () => (await appApi(n1.url, 'info', A, { client_id: c.clientId })).data.info).toEqual({ only: 'this' });
    expect((await appApi(n1.url, 'info', B, { client_id: c.clientId })).reason).toBe('app_client_not_found');
    const tooMany = await appApi(n1.url, 'info/set', A, { client_id: c.clientId, info: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) });
    expect([tooMany.status, tooMany.reason]).toEqual([400, 'invalid_field']);
    c.ws.close();
    await expect.poll(async () => (await appApi(n2.url, 'info', A, { client_id: c.clientId })).data.info).toEqual({});
  });
});

describe('realtime gateway apps: the per-address socket cap', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', { WEIM_APPS_LIST: APPS, WEIM_GATEWAY_MAX_SOCKETS_PER_IP: '2' });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('app connections count against gateway.max_sockets_per_ip like IM sockets: the third gets 429', async () => {
    await connect(t.url, A.key);
    await connect(t.url, B.key);
    const third = new WebSocket(`${t.url.replace(/^http/, 'ws')}/ws?systemId=${A.key}`);
    const status = await new Promise<number>((resolve) => third.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(429);
  });
});
