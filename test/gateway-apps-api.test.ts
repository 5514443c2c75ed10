import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startClusterNodes } from './helpers/cluster.js';
import { testDialects } from './helpers/database.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { A, appApi, APPS, B, closeOpenClients, connect, settle } from './helpers/app-clients.js';

/** weim's own signed app API for the realtime gateway (docs/gateway.md#weims-app-api). */

afterEach(() => closeOpenClients());

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
