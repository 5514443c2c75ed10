import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A bare `ws` server on a free loopback port, per-message deflate off as weim's gateways run it:
 * `onConnection` gets each server-side socket with the raw socket under it (for classes that
 * write whole frames to it). `close()` cuts every client and stops.
 */
export async function startWsServer(onConnection: (ws: WebSocket, socket: Duplex) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer();
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (ws, req) => onConnection(ws, req.socket));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise((r) => server.close(r));
    },
  };
}
