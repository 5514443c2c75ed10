import { connect } from 'node:net';
import express from 'express';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addressKey, clientIp } from '../src/http/client-ip.js';
import { testDialects } from './helpers/database.js';
import { login, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { openSocket, settle, signedInSocket, TestSocket, wsUrl } from './helpers/ws.js';
import { waitUntil } from './helpers/wait.js';

/** Opens a socket; resolves with it, or with the HTTP status (and Retry-After) the upgrade was refused with. */
function tryUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ socket?: TestSocket; status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), { headers });
    const socket = new TestSocket(ws);
    ws.once('open', () => resolve({ socket, status: 101 }));
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined });
      res.resume();
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

/** This file's waits: longer or slower than the shared default. */
const until = (check: () => boolean | Promise<boolean>, timeoutMs?: number) => waitUntil(check, timeoutMs ?? 3000, 20);

describe('client address', () => {
  it('is what Express\'s req.ip says for the same request, for every trust_proxy_hops', async () => {
    const cases: Array<string | undefined> = [undefined, '203.0.113.7', '203.0.113.7, 10.0.0.2', ' 198.51.100.1 ,203.0.113.7,, 10.0.0.2 ', '2001:db8::1, 10.0.0.2'];
    for (const hops of [0, 1, 2, 3]) {
      const app = express();
      app.set('trust proxy', hops);
      app.get('/', (req, res) => res.json({ express: req.ip, ours: clientIp(req, hops) }));
      const server = app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const port = (server.address() as { port: number }).port;
      try {
        for (const forwarded of cases) {
          const res = await fetch(`http://127.0.0.1:${port}/`, { headers: forwarded ? { 'X-Forwarded-For': forwarded } : {} });
          const { express: expected, ours } = (await res.json()) as { express: string; ours: string };
          expect([hops, forwarded, ours]).toEqual([hops, forwarded, expected]);
        }
      } finally {
        server.close();
      }
    }
  });

  it('counts IPv4 as itself and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('64:ff9b::192.0.2.33')).toBe('64:ff9b:0:0::/64');
  });
});

describe.each(testDialects())('gateway caps on %s', (dialect) => {
  let t: TestNode;
  const sockets: TestSocket[] = [];
  const track = <T extends TestSocket | undefined>(s: T) => (s && sockets.push(s), s);
  const ipCount = (ip: string) => t.node.cluster.sockets.localCount(`ip:${ip}`);
  beforeAll(async () => {
    t = await startTestNode(dialect, {
      WEIM_SERVER_TRUST_PROXY_HOPS: '1',
      WEIM_GATEWAY_MAX_SOCKETS_PER_IP: '3',
      WEIM_GATEWAY_MAX_SOCKETS_PER_USER: '2',
      WEIM_GATEWAY_PING_MAX_PER_MINUTE: '5',
      WEIM_GATEWAY_SYNC_MAX_PER_MINUTE: '2',
      WEIM_GATEWAY_MAX_BAD_FRAMES: '8',
    });
  });
  // Every test starts with no socket open (this process's own sockets share one address and its cap
  // of 3), and leaves no count behind.
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    await until(() => t.node.gateway.socketCount === 0);
    expect(ipCount('127.0.0.1')).toBe(0);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('past max_sockets_per_ip open sockets from one client address, the upgrade gets 429 (Retry-After: 10); a closed one makes room', async () => {
    const from = { 'X-Forwarded-For': '198.51.100.20' };
    const open = [];
    for (let i = 0; i < 3; i++) open.push(track((await tryUpgrade(t.url, from)).socket!));
    expect(await tryUpgrade(t.url, from)).toEqual({ status: 429, retryAfter: '10' });
    // Another address is not held back, nor is one the client's proxy merely passed through.
    expect(track((await tryUpgrade(t.url, { 'X-Forwarded-For': '198.51.100.21' })).socket)).toBeDefined();
    expect(track((await tryUpgrade(t.url, { 'X-Forwarded-For': '198.51.100.20, 198.51.100.22' })).socket)).toBeDefined();
    expect(ipCount('198.51.100.20')).toBe(3);
    open[0]!.close();
    await open[0]!.closed;
    await until(() => ipCount('198.51.100.20') === 2);
    track((await tryUpgrade(t.url, from)).socket);
    expect((await tryUpgrade(t.url, from)).status).toBe(429);
  });

  it('an IPv6 client counts by its /64: other addresses of the same network share its cap', async () => {
    for (const ip of ['2001:db8:7:1::1', '2001:db8:7:1::2', '2001:db8:7:1:abcd::3']) {
      expect((await tryUpgrade(t.url, { 'X-Forwarded-For': ip }).then((r) => (track(r.socket), r))).status).toBe(101);
    }
    expect((await tryUpgrade(t.url, { 'X-Forwarded-For': '2001:db8:7:1::ffff' })).status).toBe(429);
    expect((await tryUpgrade(t.url, { 'X-Forwarded-For': '2001:db8:7:2::1' }).then((r) => (track(r.socket), r))).status).toBe(101);
  });

  it('an upgrade that fails after it was counted (a bad handshake) gives its count back', async () => {
    const raw = connect(new URL(t.url).port as unknown as number, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    let answer = '';
    raw.on('data', (d) => (answer += d.toString()));
    raw.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Forwarded-For: 198.51.100.30\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await new Promise((r) => raw.once('close', r));
    expect(answer).toMatch(/^HTTP\/1.1 400/);
    await until(() => ipCount('198.51.100.30') === 0);
  });

  it('past max_sockets_per_user signed-in sockets, a sign-in gets Cmd 2 (Code 1005) and close 4010; the others stay; a closed one makes room', async () => {
    const u = await registerUser(t.api);
    const other = await login(t.api, u.username);
    const [s1, s2] = [track(await signedInSocket(t.url, u.token)), track(await signedInSocket(t.url, other))];
    const third = track(await openSocket(t.url));
    third.send({ Cmd: 3, Body: u.token });
    expect(await third.next((f) => f.Cmd === 2)).toMatchObject({ Body: 'too many open sockets for this user (at most 2): close one, or retry later', Code: 1005 });
    expect((await third.closed).code).toBe(4010);
    expect(third.of(4)).toEqual([]);
    await settle();
    expect([s1.ws.readyState, s2.ws.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
    expect(t.node.hub.connectionsOf(u.user.id).size).toBe(2);
    expect(t.node.cluster.sockets.localCount(`user:${u.user.id}`)).toBe(2);
    s1.close();
    await s1.closed;
    await until(() => t.node.cluster.sockets.localCount(`user:${u.user.id}`) === 1);
    expect((await track(await signedInSocket(t.url, u.token)).next((f) => f.Cmd === 4)).Body).toBe(String(u.user.id));
  });

  it('past ping_max_per_minute a Cmd 15 gets Cmd 2 (Code 1005) instead of Cmd 16; the socket stays, and is closed (4009) if it keeps on', async () => {
    const u = await registerUser(t.api);
    const s = track(await signedInSocket(t.url, u.token));
    for (let i = 0; i < 6; i++) s.send({ Cmd: 15 });
    await s.next((f) => f.Cmd === 2);
    await settle();
    expect(s.of(16)).toHaveLength(5);
    expect(s.of(2)).toEqual([{ Cmd: 2, FromId: 0, ToId: 0, Ope: 2, Type: 0, Body: 'too many pings (Cmd 15): at most 5 a minute', Code: 1005, Reason: 'too_many_pings' }]);
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
    for (let i = 0; i < 7; i++) s.send({ Cmd: 15 });
    expect((await s.closed).code).toBe(4009);
    expect(s.of(2)).toHaveLength(8);
  });

  it('past sync_max_per_minute a Cmd 22 gets Cmd 2 (Code 1005) and no Cmd 23; the limit is the socket\'s, not the user\'s', async () => {
    const u = await registerUser(t.api);
    const s = track(await signedInSocket(t.url, u.token));
    for (let i = 1; i <= 2; i++) {
      s.send({ Cmd: 22, Cursors: {}, EventSeq: 0 });
      await s.next(() => s.of(23).length === i);
    }
    s.send({ Cmd: 22, Cursors: {}, EventSeq: 0 });
    expect(await s.next((f) => f.Cmd === 2)).toMatchObject({ Body: 'too many syncs (Cmd 22): at most 2 a minute, retry later', Code: 1005 });
    await settle();
    expect(s.of(23)).toHaveLength(2);
    const other = track(await signedInSocket(t.url, await login(t.api, u.username)));
    other.send({ Cmd: 22, Cursors: {}, EventSeq: 0 });
    expect(await other.next((f) => f.Cmd === 23)).toMatchObject({ More: false });
  });
});
