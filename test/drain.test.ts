import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeFriends, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { signedInSocket, type TestSocket } from './helpers/ws.js';

/**
 * A graceful stop moves a node's sockets to other nodes without a reconnect storm: /readyz turns
 * 503 first (load balancers stop sending here), then, after `server.drain_delay_ms`, every socket is
 * told when it will be closed (Cmd 26, spread over `sockets / drain_closes_per_second` s) and is
 * closed (1012) on that schedule, each after the sends it was handling were answered.
 */
/** The most of `times` (ms, ascending) in any window of one second. */
function peakPerSecond(times: number[]): number {
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('draining a node on stop', () => {
  let t: TestNode | undefined;
  afterAll(async () => {
    await t?.stop().catch(() => {});
  });

  it('readiness first, then Cmd 26 on a spread schedule, closes (1012) in that order, sends answered', async () => {
    t = await startTestNode('sqlite', { WEIM_SERVER_DRAIN_DELAY_MS: '700', WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '10', WEIM_MESSAGES_SEND_MAX_PER_10S: '1000' });
    const node = t;
    const peer = await registerUser(node.api);
    const sockets: Array<{ socket: TestSocket; userId: number }> = [];
    for (let i = 0; i < 8; i++) {
      const { b } = await makeFriends(node.api, peer);
      sockets.push({ socket: await signedInSocket(node.url, b.token), userId: b.user.id });
    }
    const closeOrder: number[] = [];
    const acked = new Map<number, number>();
    for (const [k, { socket }] of sockets.entries()) {
      void socket.closed.then(({ code }) => closeOrder.push(code === 1012 ? k : -1));
      // On being told, a socket closing 300 ms or more later sends one message: it must be answered.
      void socket.next((f) => f.Cmd === 26, 10_000).then((f) => {
        if (Number(f.Body) >= 300) socket.send({ Cmd: 17, ToId: peer.user.id, Ope: 0, Type: 0, Body: `bye ${k}`, ClientMsgId: `m${k}` });
      }).catch(() => {});
      void socket.next((f) => f.Cmd === 18, 10_000).then((f) => acked.set(k, f.Id as number)).catch(() => {});
    }

    const stopped = node.node.stop();
    t = undefined;
    // During the delay: not ready, every socket still open and not yet told.
    await new Promise((r) => setTimeout(r, 200));
    expect((await fetch(`${node.url}/readyz`)).status).toBe(503);
    expect(node.node.gateway.socketCount).toBe(8);
    expect(sockets.every(({ socket }) => socket.of(26).length === 0)).toBe(true);

    await stopped;
    await Promise.all(sockets.map(({ socket }) => socket.closed));
    // Told once each, with delays one slot (100 ms at 10/s) apart, jittered within the slot.
    const delays = sockets.map(({ socket }) => {
      expect(socket.of(26)).toHaveLength(1);
      return Number(socket.of(26)[0]!.Body);
    });
    const sorted = [...delays].sort((x, y) => x - y);
    sorted.forEach((d, k) => {
      expect(d).toBeGreaterThanOrEqual(k * 100);
      expect(d).toBeLessThanOrEqual((k + 1) * 100);
    });
    // Closed with 1012, in the order they were told.
    expect(closeOrder).toEqual(delays.map((d, k) => [d, k] as const).sort((x, y) => x[0] - y[0]).map(([, k]) => k));
    // Every send made before its socket's turn was stored and answered.
    const senders = delays.flatMap((d, k) => (d >= 300 ? [k] : []));
    expect(senders.length).toBeGreaterThanOrEqual(4);
    expect([...acked.keys()].sort()).toEqual(senders.sort());
    const stored = await node.dbh.db.selectFrom('messages').select(['id', 'body']).where('body', 'like', 'bye %').execute();
    expect(stored.map((r) => r.id).sort()).toEqual([...acked.values()].sort());
    await node.dbh.close();
  });

  it('never closes more than drain_closes_per_second sockets in any second, even after its event loop was held up', async () => {
    const node = await startTestNode('sqlite', { WEIM_SERVER_DRAIN_DELAY_MS: '0', WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '10' });
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 24; i++) sockets.push(await signedInSocket(node.url, (await registerUser(node.api)).token));
    // The node's closes (1012), first call per socket (ws calls close again when the client's close
    // frame comes back). The fifth holds the event loop for 600 ms, as sending Cmd 26 to many
    // sockets at once or heavy traffic does: the slots that pass meanwhile must not be closed at once.
    const closedAt: number[] = [];
    const seen = new WeakSet<object>();
    const close = WebSocket.prototype.close;
    WebSocket.prototype.close = function (this: WebSocket & { _isServer?: boolean }, code?: number, reason?: string | Buffer) {
      if (this._isServer && code === 1012 && !seen.has(this)) {
        seen.add(this);
        closedAt.push(Date.now());
        if (closedAt.length === 5) for (const until = Date.now() + 600; Date.now() < until; );
      }
      return close.call(this, code, reason);
    };
    try {
      await node.stop();
    } finally {
      WebSocket.prototype.close = close;
    }
    await Promise.all(sockets.map((socket) => socket.closed));
    expect(closedAt).toHaveLength(24);
    // Counted, not timed: the most closes that fell in any one second.
    expect(peakPerSecond(closedAt)).toBeLessThanOrEqual(10);
  });

  it('the realtime gateway\'s app connections are closed after the IM sockets (1012), at no more than drain_closes_per_second', async () => {
    const apps = JSON.stringify([{ key: 'drain-app', name: 'Drain', secret: 'secret-of-drain-app-at-least-32-chars' }]);
    const node = await startTestNode('sqlite', { WEIM_SERVER_DRAIN_DELAY_MS: '0', WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '5', WEIM_APPS_LIST: apps });
    const im = await signedInSocket(node.url, (await registerUser(node.api)).token);
    const clients = await Promise.all(Array.from({ length: 12 }, async () => {
      const ws = new WebSocket(`${node.url.replace(/^http/, 'ws')}/ws?systemId=drain-app`);
      const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
      await new Promise((resolve) => ws.once('message', resolve));
      return { ws, closed };
    }));
    const closedAt: number[] = [];
    const close = WebSocket.prototype.close;
    WebSocket.prototype.close = function (this: WebSocket & { _isServer?: boolean; _url?: string }, code?: number, reason?: string | Buffer) {
      if (this._isServer && code === 1012 && reason === 'server restarting, reconnect') closedAt.push(Date.now());
      return close.call(this, code, reason);
    };
    try {
      await node.stop();
    } finally {
      WebSocket.prototype.close = close;
    }
    expect(await Promise.all(clients.map((c) => c.closed))).toEqual(Array(12).fill(1012));
    expect((await im.closed).code).toBe(1012);
    // The IM socket's close, then the 12 app connections'.
    expect(closedAt).toHaveLength(13);
    expect(peakPerSecond(closedAt)).toBeLessThanOrEqual(5);
  });

  it('a connection that never sent a request (a browser\'s pre-connected socket) does not hold the stop', async () => {
    // shutdown_timeout_ms far past the test's own timeout: only closing that connection ends the stop in time.
    const node = await startTestNode('sqlite', { WEIM_SERVER_SHUTDOWN_TIMEOUT_MS: '600000' });
    const { connect } = await import('node:net');
    const idle = connect(Number(new URL(node.url).port), '127.0.0.1');
    await new Promise((resolve) => idle.once('connect', resolve));
    idle.on('error', () => {});
    const closed = new Promise((resolve) => idle.once('close', resolve));
    // A request under way on another connection is still answered.
    const inFlight = fetch(`${node.url}/api/v1/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'drain_inflight', password: 'secret123' }) });
    await new Promise((r) => setTimeout(r, 20));
    await node.stop();
    await closed;
    expect(((await (await inFlight).json()) as { code: number }).code).toBe(0);
  });
});
