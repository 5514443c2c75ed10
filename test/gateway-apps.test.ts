import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { clusterEnv, startClusterNodes } from './helpers/cluster.js';
import { testDialects } from './helpers/database.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { A, AppClient, APPS, B, C, call, closeOpenClients, connect, okami, open, settle, xlveinClient } from './helpers/app-clients.js';

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

  it('its connections leave every online list and group send once its lease runs out, without being closed by anyone', async () => {
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
    // Gone from the list once the lease (2 s) runs out and discovery tells the survivor.
    await expect.poll(async () => (await call(survivor.url, 'get_online_list', A.key, { groupName: 'room' })).data, { timeout: 15_000, interval: 100 }).toEqual({ count: 1, list: [here.clientId] });
    // A send to the group still reaches the survivor's member, and a send to the dead one answers as woodylan does.
    await call(survivor.url, 'send_to_group', A.key, { groupName: 'room', msg: 'after' });
    await here.next((f) => f.msg === 'after');
    expect((await call(survivor.url, 'send_to_client', A.key, { clientId: there.clientId, msg: 'x' })).code).toBe(0);
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
