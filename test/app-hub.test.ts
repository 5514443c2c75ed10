import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type AppConnection, AppHub } from '../src/modules/apps/app-hub.js';

/**
 * The realtime gateway's hub over real sockets: frames built once and written a slice of
 * connections per event-loop turn, in the order they came, and a close that waits for the frames
 * queued before it.
 */
describe('AppHub: sliced delivery in order, closes behind the frames queued before them', () => {
  let server: Server;
  let wss: WebSocketServer;
  let url: string;
  const accepted: AppConnection[] = [];
  beforeAll(async () => {
    server = createServer();
    wss = new WebSocketServer({ server, perMessageDeflate: false });
    wss.on('connection', (ws, req) => accepted.push({ app: 'a', clientId: `c${accepted.length}`, ws, socket: req.socket, groups: new Set(), userId: '', extend: '' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => server.close(r));
  });

  /** `n` client sockets, each with what it received (texts, then `close <code>`). */
  async function clients(n: number): Promise<{ got: string[][]; conns: AppConnection[] }> {
    const from = accepted.length;
    const got: string[][] = [];
    await Promise.all(Array.from({ length: n }, async (_, k) => {
      const ws = new WebSocket(url);
      got[k] = [];
      ws.on('message', (d) => got[k]!.push(String(d)));
      ws.on('close', (code) => got[k]!.push(`close ${code}`));
      await new Promise((r) => ws.once('open', r));
    }));
    while (accepted.length < from + n) await new Promise((r) => setTimeout(r, 5));
    // Accepted in any order: match each server side to its client by a first frame.
    const conns = accepted.slice(from);
    return { got, conns };
  }

  it('every member gets every frame, in the order sent, though each frame is written over several turns', async () => {
    const { got, conns } = await clients(7);
    const hub = new AppHub(2);
    for (const c of conns) {
      hub.add(c);
      hub.join(c, 'room');
    }
    // Counts the frames written to the sockets.
    let writes = 0;
    for (const c of conns) {
      const write = c.socket.write.bind(c.socket);
      c.socket.write = ((...args: Parameters<typeof write>) => {
        writes++;
        return write(...args);
      }) as typeof c.socket.write;
    }
    for (let i = 1; i <= 3; i++) hub.deliver({ app: 'a', group: 'room' }, `frame ${i}`);
    // 2 connections a turn: this turn wrote the first slice of the first frame only.
    expect(writes).toBe(2);
    await new Promise((r) => setImmediate(r));
    expect(writes).toBe(4);
    await expect.poll(() => got.every((g) => g.length === 3)).toBe(true);
    expect(writes).toBe(21);
    expect(got.map((g) => g.join('|'))).toEqual(Array(7).fill('frame 1|frame 2|frame 3'));
  });

  it('a close waits for the frames queued before it; one with nothing queued closes at once', async () => {
    const { got, conns } = await clients(5);
    const hub = new AppHub(2);
    for (const c of conns) {
      hub.add(c);
      hub.join(c, 'hall');
    }
    const last = conns[4]!;
    hub.deliver({ app: 'a', group: 'hall' }, 'to the hall');
    hub.deliver({ app: 'a', clientIds: [last.clientId] }, 'bye');
    hub.close(last, 1000, 'closed by the app');
    await expect.poll(() => got.flat().filter((t) => t.startsWith('close')).length).toBe(1);
    const closedOne = got.find((g) => g.includes('close 1000'))!;
    expect(closedOne).toEqual(['to the hall', 'bye', 'close 1000']);
    expect(got.filter((g) => g !== closedOne).map((g) => g.join('|'))).toEqual(Array(4).fill('to the hall'));
    const first = conns[0]!;
    hub.close(first, 1000, 'now');
    await expect.poll(() => got.filter((g) => g.at(-1) === 'close 1000').length).toBe(2);
  });
});
