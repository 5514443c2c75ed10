import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import jwt from 'jsonwebtoken';
import { xlveinSign } from '../src/modules/apps/index.js';
import { startClusterNodes } from './helpers/cluster.js';
import { testDialects } from './helpers/database.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { A, APPS, B, closeOpenClients, settle, xlveinClient } from './helpers/app-clients.js';

/** seanlan/xlvein's protocol on the realtime gateway (docs/gateway.md#xlvein). */

afterEach(() => closeOpenClients());

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
