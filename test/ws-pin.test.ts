import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { textFrame } from '../src/gateway/wire-frame.js';

/**
 * What the gateway relies on in `ws` (connection.ts writes frames built once straight to the socket
 * `ws` owns): with per-message deflate off, every `send`, `ping` and `close` of `ws` goes to the
 * socket at once, whole, in call order, with nothing kept in `ws`'s own queue; so a frame written to
 * the socket between two of them arrives between them. An upgrade of `ws` that starts queueing
 * (or fragments or reorders) fails this test before it can interleave frames in production.
 */
describe('the ws behaviour the gateway relies on', () => {
  let server: Server;
  let wss: WebSocketServer;
  let url: string;
  const accepted: Array<{ ws: WebSocket; socket: Duplex }> = [];
  beforeAll(async () => {
    server = createServer();
    wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => accepted.push({ ws, socket })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    wss.close();
    await new Promise((resolve) => server.close(resolve));
  });

  async function connect() {
    const client = new WebSocket(url);
    const got: string[] = [];
    client.on('message', (data: Buffer, isBinary: boolean) => got.push(isBinary ? `bin:${data.length}` : data.toString()));
    client.on('ping', () => got.push('ping'));
    await new Promise((resolve) => client.once('open', resolve));
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    return { client, got, ...accepted.shift()! };
  }

  it('sends, pings and raw frames arrive in call order; ws queues nothing of its own', async () => {
    const { client, got, ws, socket } = await connect();
    const big = 'x'.repeat(200_000);
    ws.send('a');
    socket.write(textFrame('b'));
    ws.send(Buffer.from('c'), { binary: false });
    ws.ping();
    socket.write(textFrame('d'));
    ws.send(big);
    socket.write(textFrame('e'));
    ws.send('f');
    // Everything above is in the socket's buffer: ws holds none of it back.
    expect((ws as unknown as { _sender: { _bufferedBytes: number; _queue: unknown[] } })._sender._bufferedBytes).toBe(0);
    expect((ws as unknown as { _sender: { _queue: unknown[] } })._sender._queue).toHaveLength(0);
    expect(ws.bufferedAmount).toBe((socket as unknown as { writableLength: number }).writableLength);
    while (got.length < 7) await new Promise((r) => setTimeout(r, 5));
    expect(got.map((m) => (m.length > 10 ? `big:${m.length}` : m))).toEqual(['a', 'b', 'c', 'ping', 'd', `big:${big.length}`, 'e', 'f']);
    client.close();
  });

  it('after close() the state is no longer OPEN, so no raw frame follows the close frame', async () => {
    const { client, ws } = await connect();
    const closed = new Promise<number>((resolve) => client.once('close', (code) => resolve(code)));
    ws.close(4000, 'bye');
    expect(ws.readyState).not.toBe(ws.OPEN);
    expect(await closed).toBe(4000);
  });

  it("a full socket buffer drains with the socket's drain event (no polling needed)", async () => {
    const { client, ws, socket } = await connect();
    client.pause();
    const frame = textFrame('y'.repeat(64 * 1024));
    while (ws.bufferedAmount < 4 * 1024 * 1024) socket.write(frame);
    expect((socket as unknown as { writableNeedDrain: boolean }).writableNeedDrain).toBe(true);
    const drained = new Promise((resolve) => socket.once('drain', resolve));
    client.resume();
    await drained;
    expect(ws.bufferedAmount).toBe(0);
    client.terminate();
  });
});
