import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AppHub, AppConnection } from './app-hub.js';
import type { AppRegistry } from './apps.registry.js';
import type { AppsService } from './apps.service.js';
import type { ClientIds } from './client-id.js';

/** woodylan's read limit: larger client frames close the socket (1009). */
const MAX_CLIENT_FRAME = 8192;

/**
 * App connections (woodylan's protocol): `GET /ws?systemId=<app>` or goravel-websocket's
 * `/api/websocket/ws?systemId=<app>`. The connection is in the hub before its greeting
 * (`{"code":0,"msg":"success","data":{"clientId":…}}`) goes out, so a send made on the greeting is
 * delivered (woodylan registered it after, and could drop it). An unknown or disabled app gets
 * woodylan's -1001 frame and a close (woodylan accepted any systemId). Client frames are ignored,
 * as woodylan did; the server pings every `pingIntervalMs` and drops a socket that did not answer
 * the last ping.
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

  /** The app a request asks to connect to, or undefined when it is not an app connection. */
  static systemIdOf(req: IncomingMessage): string | undefined {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/websocket/ws') return url.searchParams.get('systemId') ?? '';
    if (url.pathname === '/ws' && url.searchParams.has('systemId')) return url.searchParams.get('systemId') ?? '';
    return undefined;
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, systemId: string): void {
    const onError = () => socket.destroy();
    socket.on('error', onError);
    this.registry.enabled(systemId).then(
      (app) => {
        socket.off('error', onError);
        if (socket.destroyed) return;
        this.wss.handleUpgrade(req, socket, head, (ws) => {
          if (!app) {
            ws.send(JSON.stringify({ messageId: '', sendUserId: '', code: -1001, msg: systemId ? '系统ID无效' : '系统ID不能为空', data: [] }));
            ws.close(1008, 'unknown systemId');
            return;
          }
          this.accept(ws, app.key);
        });
      },
      (err: unknown) => {
        this.log.warn({ err }, 'app connection: looking the app up failed');
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      },
    );
  }

  private accept(ws: WebSocket, app: string): void {
    const c: AppConnection = { app, clientId: this.ids.issue(app, this.nodeId), ws, groups: new Set(), userId: '', extend: '' };
    this.hub.add(c);
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    ws.on('error', (err) => this.log.debug({ err }, 'app socket error'));
    ws.on('close', () => {
      this.service.closed(c).catch((err: unknown) => this.log.warn({ err }, 'app connection: leaving its groups failed'));
    });
    ws.send(JSON.stringify({ code: 0, msg: 'success', data: { clientId: c.clientId } }));
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

  /** Closes every app connection (1001, going away) and stops the heartbeat. */
  stop(): void {
    clearInterval(this.heartbeat);
    for (const c of this.hub.all()) c.ws.close(1001, 'server stopping');
  }
}
