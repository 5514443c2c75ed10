import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Connection } from '../src/gateway/connection.js';
import { LiveFrame } from '../src/gateway/wire-frame.js';
import { startWsServer } from './helpers/ws-server.js';

/**
 * A socket during a sync, over a real WebSocket: live frames are held and sent afterwards unless
 * the socket has them. Seen in the chaos run (a frame and its own ack, twice in CI): a device that
 * signed in with Sync sends a message at once; a repair started by another node's stop reads the
 * stored message before the send's ack is written and hands its frame to the held list ahead of
 * the ack's silent position.
 */
describe('Connection: the device\'s own message is not sent back when a sync ends', () => {
  let server: Awaited<ReturnType<typeof startWsServer>>;
  let url: string;
  const accepted: Connection[] = [];
  beforeAll(async () => {
    server = await startWsServer((ws, socket) => accepted.push(new Connection(ws, socket, 1 << 20)));
    url = server.url;
  });
  afterAll(() => server.close());

  it('a stored frame held during the sync before the ack\'s silent position is dropped, the rest sent in order', async () => {
    const client = new WebSocket(url);
    const got: number[] = [];
    client.on('message', (d) => got.push(JSON.parse(String(d)).Seq as number));
    await new Promise((r) => client.once('open', r));
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const connection = accepted[0]!;
    const frame = (seq: number) => new LiveFrame(JSON.stringify({ Cmd: 10, Seq: seq }), { key: 'c1', seq });

    connection.beginSync();
    // The repair's frames (it read the device's own message 7, committed, before its ack).
    connection.deliver(frame(6));
    connection.deliver(frame(7));
    // The send's ack: its position, silent.
    connection.skip({ key: 'c1', seq: 7 });
    connection.deliver(frame(8));
    // The sync read up to 5.
    connection.synced('c1', 5);
    connection.endSync();
    connection.sendFrame({ Cmd: 10, Seq: 99 } as never);
    await expect.poll(() => got.at(-1)).toBe(99);
    expect(got).toEqual([6, 8, 99]);
    client.terminate();
  });
});
