import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { signedInSocket } from './helpers/ws.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { streamPost } from './helpers/upload-stream.js';

interface RawResult {
  status: number;
  body: string;
  sentBytes: number;
}

/**
 * Streams `total` bytes of a JSON string body at the server in 64 KB chunks and stops sending as
 * soon as a response arrives, reporting how much was sent by then.
 */
async function streamBody(url: string, total: number, withLength: boolean): Promise<RawResult> {
  let sentBytes = 0;
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
  if (withLength) headers['Content-Length'] = total;
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const res = await streamPost(url, headers, async (write, answered) => {
    while (!answered() && sentBytes < total) {
      sentBytes += chunk.length;
      await write(chunk);
    }
    return undefined;
  });
  return { ...res, sentBytes };
}

describe('HTTP layer', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('a 5 MB body with Content-Length gets 413 / 1004', async () => {
    const res = await streamBody(`${t.api}/login`, 5 * 1024 * 1024, true);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body)).toEqual({ code: 1004, msg: 'payload too large', reason: 'payload_too_large', data: null });
  });

  it('a 200 MB declared body is refused before the upload finishes', async () => {
    const total = 200 * 1024 * 1024;
    const res = await streamBody(`${t.api}/register`, total, true);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe(1004);
    expect(res.sentBytes).toBeLessThan(total / 4);
  });

  it('a chunked oversized body (no length) gets 413 / 1004 and the node keeps serving', async () => {
    const res = await streamBody(`${t.api}/register`, 5 * 1024 * 1024, false);
    expect(res.status).toBe(413);
    expect(JSON.parse(res.body).code).toBe(1004);
    expect((await fetch(`${t.url}/healthz`)).status).toBe(200);
  });

  it('malformed JSON gets 400 / 1000 with no parser internals', async () => {
    const response = await fetch(`${t.api}/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"username": ' });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(JSON.parse(body)).toEqual({ code: 1000, msg: 'malformed request body', reason: 'malformed_body', data: null });
  });

  it('refuses bodies the API does not read (scalar JSON, repeated or too many fields, other charsets, compression), storing nothing', async () => {
    const username = `body_${Date.now() % 100000}`;
    const form = (extra = '') => `username=${username}&password=secret123${extra}`;
    const refused: Array<[string, Record<string, string>, string, string]> = [
      ['scalar JSON', { 'Content-Type': 'application/json' }, '"just a string"', 'malformed request body'],
      ['repeated field', { 'Content-Type': 'application/x-www-form-urlencoded' }, form(`&username=${username}x`), 'username'],
      ['101 fields', { 'Content-Type': 'application/x-www-form-urlencoded' }, form(Array.from({ length: 99 }, (_, i) => `&f${i}=1`).join('')), 'too many parameters'],
      ['latin-1', { 'Content-Type': 'application/x-www-form-urlencoded; charset=latin1' }, form(), 'UTF-8'],
      ['gzip', { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, JSON.stringify({ username, password: 'secret123' }), 'compressed'],
    ];
    for (const [name, headers, body, message] of refused) {
      const response = await fetch(`${t.api}/register`, { method: 'POST', headers, body });
      const answer = (await response.json()) as { code: number; msg: string };
      expect([response.status, answer.code], name).toEqual([400, 1000]);
      expect(answer.msg, name).toContain(message);
    }
    // Nothing above was stored: the name is still free, and a JSON body naming its charset is read.
    const ok = await fetch(`${t.api}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=UTF-8' }, body: JSON.stringify({ username, password: 'secret123' }) });
    expect([ok.status, ((await ok.json()) as { code: number }).code]).toEqual([200, 0]);
  });

  it('/metrics with a token configured answers only that bearer token', async () => {
    const guarded = await startTestNode('sqlite', { WEIM_SERVER_METRICS_TOKEN: 'scrape-token-0123456789' });
    try {
      for (const authorization of [undefined, 'Bearer wrong', 'Bearer scrape-token-012345678', 'scrape-token-0123456789', 'Bearer scrape-token-0123456789x']) {
        const response = await fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
        expect(response.status, authorization).toBe(401);
        expect(await response.text(), authorization).not.toContain('weim_');
      }
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('weim_message_batch_size');
      expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200);
    } finally {
      await guarded.stop();
    }
  });

  it('unknown routes and methods get 404 / 1002', async () => {
    for (const [method, path] of [['POST', '/api/v1/nope'], ['GET', '/api/v1/login'], ['GET', '/nothing']] as const) {
      const response = await fetch(`${t.url}${path}`, { method });
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({ code: 1002, msg: 'no such route', reason: 'no_route', data: null });
    }
  });

  it('serves health, readiness and Prometheus metrics', async () => {
    const { token } = await registerUser(t.api);
    const socket = await signedInSocket(t.url, token);
    expect(await (await fetch(`${t.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
    const metrics = await fetch(`${t.url}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(/weim_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/register",status="200"\} [1-9]/);
    expect(text).toMatch(/^weim_ws_sockets 1$/m);
    expect(text).toMatch(/^weim_ws_users 1$/m);
    expect(text).toMatch(/^weim_ws_sign_ins_total 1$/m);
    socket.close();

    const { a, b } = await makeFriends(t.api);
    expect((await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'hi' }, { token: a.token })).code).toBe(0);
    const after = await (await fetch(`${t.url}/metrics`)).text();
    expect(after).toMatch(/^weim_message_batch_size_count [1-9]/m);
    expect(after).toMatch(/^weim_message_batch_size_bucket\{le="1"\} [1-9]/m);
    expect(after).toMatch(/^weim_message_batch_duration_seconds_count [1-9]/m);
    expect(Number(/^weim_message_batch_duration_seconds_sum (\S+)$/m.exec(after)?.[1])).toBeGreaterThan(0);
  });
});

describe('HTTP layer when the database is gone', () => {
  it('answers 500 / 1500 without internals and /readyz turns 503', async () => {
    const t = await startTestNode('sqlite');
    const { token } = await registerUser(t.api);
    await t.dbh.db.destroy();
    const res = await post(t.api, '/user/info', {}, { token });
    expect([res.status, res.code, res.msg, res.data]).toEqual([500, 1500, 'internal error', null]);
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(503);
    await t.node.stop();
  });
});
