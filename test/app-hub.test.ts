import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type AppConnection, AppHub } from '../src/modules/apps/app-hub.js';
import { startWsServer } from './helpers/ws-server.js';

/**
 * The realtime gateway's hub over real sockets: frames built once and written a slice of
 * connections per event-loop turn, in the order they came, and a close that waits for the frames
 * queued before it.
 */
describe('AppHub: sliced delivery in order, closes behind the frames queued before them', () => {
  let server: Awaited<ReturnType<typeof startWsServer>>;
  let url: string;
  const accepted: AppConnection[] = [];
  beforeAll(async () => {
    server = await startWsServer((ws, socket) => accepted.push({ app: 'a', clientId: `c${accepted.length}`, ws, socket, groups: new Set(), userId: '', extend: '' }));
    url = server.url;
  });
  afterAll(() => server.close());

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
    // In the order accepted, not necessarily the clients': the tests do not pair them.
    return { got, conns: accepted.slice(from) };
  }

  /** `n` clients in `group` of a hub that writes 2 connections a turn. */
  async function inGroup(n: number, group: string) {
    const { got, conns } = await clients(n);
    const hub = new AppHub(2);
    for (const c of conns) {
      hub.add(c);
      hub.join(c, group);
    }
    return { got, conns, hub };
  }

  it('every member gets every frame, in the order sent, though each frame is written over several turns', async () => {
    const { got, conns, hub } = await inGroup(7, 'room');
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
    const { got, conns, hub } = await inGroup(5, 'hall');
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
