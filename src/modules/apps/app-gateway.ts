import { createSecretKey, type KeyObject } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import jwt from 'jsonwebtoken';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { setBounded } from '../../bounded-map.js';
import type { ClosePacer } from '../../gateway/close-pacer.js';
import { TokenBucket } from '../../gateway/frame-limits.js';
import type { AppConnection, AppHub } from './app-hub.js';
import type { App, AppRegistry } from './apps.registry.js';
import type { AppsService } from './apps.service.js';
import type { ClientIds } from './client-id.js';
import { relayFrame } from './xlvein.js';

/** woodylan's read limit: larger client frames close the socket (1009). */
const MAX_CLIENT_FRAME = 8192;
/** Frames a minute an xlvein client may send to other users (past it they are dropped). */
const RELAYS_PER_MINUTE = 600;

/**
 * How a connection asked to be let in, by the seed it comes from:
 * - `woodylan` (and goravel-socket): `GET /ws?systemId=<app>`; greeting `{"code":0,"msg":"success","data":{"clientId"}}`.
 * - `okami` (goravel-websocket): `GET /api/websocket/ws?systemId=<app>[&token=<JWT>]`; greeting `{"code":0,"data":{"client"},"msg":"connect success"}`.
 * - `xlvein`: `GET /ws/connect?app_id=<app>&token=<JWT>`: the token (HS256, the app's secret, `sub` the user, `exp` required) binds the connection to the app's user; no greeting.
 */
type Ask = { style: 'woodylan' | 'okami' | 'xlvein'; app: string; token: string | undefined };

function askOf(req: IncomingMessage): Ask | undefined {
  const raw = req.url ?? '/';
  // Most upgrades are the IM gateway's (`/ws`, its query without systemId): told apart without
  // parsing a URL (every sign-in paid for one). An escaped name (%) is parsed, as anything else.
  if (raw === '/ws' || (raw.startsWith('/ws?') && !raw.includes('systemId') && !raw.includes('%'))) return undefined;
  const url = new URL(raw, 'http://x');
  const q = url.searchParams;
  if (url.pathname === '/ws/connect') return { style: 'xlvein', app: q.get('app_id') ?? '', token: q.get('token') ?? undefined };
  if (url.pathname === '/api/websocket/ws') return { style: 'okami', app: q.get('systemId') ?? '', token: q.get('token') ?? undefined };
  if (url.pathname === '/ws' && q.has('systemId')) return { style: 'woodylan', app: q.get('systemId') ?? '', token: undefined };
  return undefined;
}

/** Each app secret as a key, made once. */
const secretKeys = new Map<string, KeyObject>();

/**
 * `secret` as a KeyObject. Given the string, jsonwebtoken first tries it as a PEM public key and
 * makes the secret key from it only after that throws: 565 µs a verify, against 14 µs with the key
 * made once (20,000 verifies of one token on the 2-core AMD EPYC host, 6 December 2026).
 */
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) setBounded(secretKeys, secret, (key = createSecretKey(Buffer.from(secret))), 10_000);
  return key;
}

/** The user a token names, when it is the app's (HS256 with its secret, `sub`, `exp`). */
function userOf(token: string, app: App): string | undefined {
  try {
    const claims = jwt.verify(token, secretKey(app.secret), { algorithms: ['HS256'] }) as { sub?: unknown; exp?: unknown };
    return typeof claims.sub === 'string' && claims.sub.length > 0 && claims.sub.length <= 128 && typeof claims.exp === 'number' ? claims.sub : undefined;
  } catch {
    return undefined;
  }
}

/**
 * App connections (docs/gateway.md). The connection is in the hub before its greeting goes out,
 * so a send made on the greeting is delivered (woodylan registered it after, and could drop it).
 * An unknown or disabled app is refused (the seeds let any systemId connect). The server pings
 * every `pingIntervalMs` and drops a socket that did not answer the last ping.
 */
export class AppGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false, clientTracking: false });
  private readonly alive = new WeakSet<WebSocket>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(
    private readonly nodeId: string,
    private readonly registry: AppRegistry,
    private readonly ids: ClientIds,
    private readonly hub: AppHub,
    private readonly service: AppsService,
    private readonly log: Pick<Logger, 'warn' | 'debug'>,
    pingIntervalMs: number,
  ) {
    this.heartbeat = setInterval(() => this.ping(), pingIntervalMs);
    this.heartbeat.unref();
  }

  /** Whether an upgrade request is an app connection. */
  static wants(req: IncomingMessage): boolean {
    return askOf(req) !== undefined;
  }

  /** Takes an app connection's upgrade (`wants` said it is one). */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ask = askOf(req);
    if (!ask) {
      socket.destroy();
      return;
    }
    const onError = () => socket.destroy();
    socket.on('error', onError);
    this.registry.enabled(ask.app).then(
      (app) => {
        socket.off('error', onError);
        if (!socket.destroyed) this.admit(req, socket, head, ask, app);
      },
      (err: unknown) => {
        this.log.warn({ err }, 'app connection: looking the app up failed');
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      },
    );
  }

  private admit(req: IncomingMessage, socket: Duplex, head: Buffer, ask: Ask, app: App | undefined): void {
    if (ask.style === 'xlvein') {
      // xlvein answers before the upgrade, HTTP 200 with its envelope.
      const refuse = (code: number, msg: string) => {
        const body = JSON.stringify({ code, detail: '', msg });
        socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      };
      if (!ask.app || !ask.token) return refuse(400, '请求参数错误');
      if (!app) return refuse(1001, 'internal not found');
      const user = userOf(ask.token, app);
      if (user === undefined) return refuse(1000, '错误的Token');
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, app, ask, user));
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      if (!app) {
        ws.send(JSON.stringify({ messageId: '', sendUserId: '', code: -1001, msg: ask.app ? '系统ID无效' : '系统ID不能为空', data: [] }));
        ws.close(1008, 'unknown systemId');
        return;
      }
      const user = ask.token === undefined ? undefined : userOf(ask.token, app);
      if (ask.token !== undefined && user === undefined) {
        ws.send(JSON.stringify({ code: 401, data: [], msg: 'token invalid' }));
        ws.close(1008, 'token invalid');
        return;
      }
      this.accept(ws, socket, app, ask, user);
    });
  }

  private accept(ws: WebSocket, socket: Duplex, app: App, ask: Ask, user: string | undefined): void {
    const c: AppConnection = { app: app.key, clientId: this.ids.issue(app.key, this.nodeId), ws, socket, groups: new Set(), userId: '', extend: '' };
    this.hub.add(c);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('error', (err) => this.log.debug({ err }, 'app socket error'));
    ws.on('close', () => {
      this.service.closed(c).catch((err: unknown) => this.log.warn({ err }, 'app connection: leaving its groups failed'));
    });
    const greet = () => {
      if (ask.style === 'woodylan') ws.send(JSON.stringify({ code: 0, msg: 'success', data: { clientId: c.clientId } }));
      else if (ask.style === 'okami') ws.send(JSON.stringify({ code: 0, data: { client: c.clientId }, msg: 'connect success' }));
    };
    // Registered (and bound to its user) before the greeting, and for xlvein before it can send or be sent to.
    const registered = this.service.connected(c).then(() => (user === undefined ? undefined : this.service.bindUserHere(c, user)));
    c.ready = registered.then(
      () => {},
      () => {},
    );
    if (ask.style === 'xlvein') {
      // Frames that come before the registration is done wait for it (in order), not lost.
      const limit = new TokenBucket(RELAYS_PER_MINUTE, 60_000);
      let after: Promise<void> = c.ready;
      ws.on('message', (data: RawData) => {
        if (limit.take()) after = after.then(() => this.relay(c, data));
      });
    }
    registered.then(
      () => greet(),
      (err: unknown) => {
        this.log.warn({ err }, 'app connection: registering it failed');
        ws.close(1011, 'try again');
      },
    );
  }

  /** xlvein: a client's `{"to","data"}` to another user of its app (one after the other, in order). */
  private async relay(c: AppConnection, data: RawData): Promise<void> {
    const frame = relayFrame(c.userId, String(data));
    if (frame) await this.service.toUser(c.app, frame.to, frame.payload).catch((err: unknown) => this.log.warn({ err }, 'app relay failed'));
  }

  private ping(): void {
    for (const c of this.hub.all()) {
      if (!this.alive.has(c.ws)) {
        c.ws.terminate();
        continue;
      }
      this.alive.delete(c.ws);
      c.ws.ping();
    }
  }

  /**
   * Stops the heartbeat and closes every app connection (1012, service restart: the seeds'
   * clients reconnect, through the load balancer, to another node) at no more than
   * the rate `pacer` keeps (shared with the IM sockets' drain), so the other nodes are not hit by
   * every client at once. Answers how many.
   */
  async drain(pacer: ClosePacer): Promise<{ connections: number }> {
    clearInterval(this.heartbeat);
    this.service.draining();
    let connections = 0;
    for (const c of [...this.hub.all()]) {
      await pacer.take();
      this.hub.close(c, 1012, 'server restarting, reconnect');
      connections++;
    }
    return { connections };
  }
}
