import { createServer } from 'node:http';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * The physical limit the gateway benchmark compares weim with: a bare `ws` server on the same
 * HTTP port layout (`/ws`, backlog 4096, no compression) that does the least the protocol needs.
 * - Cmd 3: reads the user id from the JWT's `sub` WITHOUT verifying it (no auth), answers Cmd 4.
 * - Cmd 17 Ope 0: relays the message as a Cmd 6 frame to the target user's sockets (a Map lookup,
 *   no storage) and acks the sender with Cmd 18, as weim does.
 * - Cmd 17 Ope 1: serialises one Cmd 10 frame once and sends it to every other socket, in one loop.
 * Run: PORT=<port> node --import tsx bench/baseline-server.ts (binds 127.0.0.1 only).
 */
const port = Number(process.env.PORT ?? 0);
const byUser = new Map<number, Set<WebSocket>>();
const userOf = new WeakMap<WebSocket, number>();
let nextId = 0;

const server = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' }).end(req.url === '/healthz' ? 'ok' : '');
});
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate: false, clientTracking: true });

interface InFrame {
  Cmd: number;
  ToId?: number;
  Ope?: number;
  Type?: number;
  Body?: string;
  ClientMsgId?: string;
}

wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    let frame: InFrame;
    try {
      frame = JSON.parse(data.toString()) as InFrame;
    } catch {
      return;
    }
    if (frame.Cmd === 3) return signIn(ws, frame.Body ?? '');
    const from = userOf.get(ws);
    if (frame.Cmd !== 17 || from === undefined) return;
    const id = ++nextId;
    const time = Date.now();
    const out = { FromId: from, ToId: frame.ToId, Ope: frame.Ope, Type: frame.Type, Body: frame.Body, Id: id, Seq: id, Time: time };
    if (frame.Ope === 1) {
      const payload = JSON.stringify({ Cmd: 10, ...out });
      for (const client of wss.clients) if (client !== ws) client.send(payload);
    } else {
      const payload = JSON.stringify({ Cmd: 6, ...out });
      for (const client of byUser.get(frame.ToId ?? 0) ?? []) client.send(payload);
    }
    ws.send(JSON.stringify({ Cmd: 18, FromId: from, ToId: frame.ToId, Ope: frame.Ope, Type: frame.Type, Body: '', Id: id, Seq: id, Time: time, ClientMsgId: frame.ClientMsgId }));
  });
  ws.on('close', () => {
    const userId = userOf.get(ws);
    if (userId === undefined) return;
    const set = byUser.get(userId);
    set?.delete(ws);
    if (set?.size === 0) byUser.delete(userId);
  });
  ws.on('error', () => {});
});

function signIn(ws: WebSocket, token: string): void {
  let userId = 0;
  try {
    userId = Number((JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string }).sub);
  } catch {
    // not a JWT: stays 0
  }
  userOf.set(ws, userId);
  let set = byUser.get(userId);
  if (!set) byUser.set(userId, (set = new Set()));
  set.add(ws);
  ws.send(JSON.stringify({ Cmd: 4, FromId: 0, ToId: 0, Ope: 2, Type: 0, Body: String(userId) }));
}

server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`baseline listening on 127.0.0.1:${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
