import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import type { SocketCounts } from '../cluster/socket-counts.js';
import { AppError, retryableError } from '../errors.js';
import { addressKey, clientIp } from '../http/client-ip.js';
import { type Locale, localeOf } from '../i18n.js';
import { Cmd } from '../notify/cmd.js';
import { reconnectFrame, syncNeededFrame } from '../notify/frames.js';
import type { ClosePacer } from './close-pacer.js';
import { Connection, type StreamRepairPort } from './connection.js';
import { type FrameLimit, FrameLimits } from './frame-limits.js';
import { createHandlers, type HandlerDeps, type Handlers } from './handlers.js';
import type { Hub } from './hub.js';
import { CloseCode, parseClientFrame, type ClientFrame } from './protocol.js';

export interface GatewayOptions {
  signInTimeoutMs: number;
  pingIntervalMs: number;
  /** Frames above this get Cmd 2; above 4× it the socket is closed by ws (1009). */
  maxFrameBytes: number;
  maxBufferedBytes: number;
  /** The language of Cmd 2 texts for a socket that names neither zh nor en. */
  defaultLocale: Locale;
  /** Browser origins allowed to connect; empty = any. Requests without Origin are not browsers. */
  allowedOrigins: string[];
  /** Consecutive refused frames after which the socket is closed (4009). */
  maxBadFrames: number;
  /** Proxies whose X-Forwarded-For is trusted (the client address, as the HTTP side reads it). */
  trustProxyHops: number;
  /** Open sockets one client address (an IPv6 /64) may hold across the cluster; 0: no cap. Past it the upgrade gets 429. */
  maxSocketsPerIp: number;
  /** Signed-in sockets one user may hold across the cluster; 0: no cap. Past it a sign-in gets Cmd 2 (1005) and close 4010. */
  maxSocketsPerUser: number;
  /** Cmd 15 (ping) and Cmd 22 (sync) frames one socket may send per minute (bursts up to that many). */
  pingMaxPerMinute: number;
  syncMaxPerMinute: number;
  /** Cmd 27 (typing) frames one socket may send per minute. */
  typingMaxPerMinute: number;
}

/** What a drain did: sockets closed, milliseconds from its start to the last close, the most closes in one second. */
export interface DrainReport {
  sockets: number;
  ms: number;
  peakPerSecond: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What a client refused for too many sockets from its address is told to wait (HTTP Retry-After). */
const SOCKETS_RETRY_AFTER_SECONDS = 10;

export type GatewayDeps = Omit<HandlerDeps, 'onSignedIn' | 'admitUser' | 'maxSocketsPerUser'> & {
  hub: Hub;
  log: Logger;
  /** Open sockets per client address and per user, across the cluster. */
  sockets: SocketCounts;
  /** Orders each socket's streams and repairs their gaps from the database. */
  repair?: StreamRepairPort & { repairAll(connections: Iterable<Connection>): Promise<number> };
  /** Called once per socket signed in (the node's sign-in counter). */
  countSignIn?: () => void;
  /** The realtime gateway's app connections: they share the upgrade path and the per-address cap. */
  appConnections?: { wants(req: IncomingMessage): boolean; handle(req: IncomingMessage, socket: Duplex, head: Buffer): void };
};

/**
 * The heartbeat visits a share of the sockets this many times per ping interval, so every socket
 * is still pinged once an interval but never all at once (pinging 10k sockets in one loop blocked
 * the event loop ~100 ms and brought 10k pongs back in one burst).
 */
const HEARTBEAT_TICKS = 20;

/** The WebSocket side of a node: `/ws` on the HTTP server's port. */
export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly handlers: Handlers;
  private readonly connections = new Set<Connection>();
  private readonly signInTimers = new Map<Connection, NodeJS.Timeout>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Where the heartbeat's round over `connections` stands (a Set iterator survives deletes and sees adds). */
  private heartbeatCursor: Iterator<Connection> | undefined;
  private heartbeatRoundStartedAt = 0;
  private closing = false;
  /** Every socket's per-command limits, their refusals built once (an Error's stack costs tens of µs). */
  private readonly frameLimits: readonly FrameLimit[];

  constructor(
    private readonly deps: GatewayDeps,
    private readonly options: GatewayOptions,
  ) {
    this.frameLimits = [
      { cmd: Cmd.Ping, perMinute: options.pingMaxPerMinute, refusal: new AppError('too_many_pings', { max: options.pingMaxPerMinute }) },
      { cmd: Cmd.Sync, perMinute: options.syncMaxPerMinute, refusal: new AppError('too_many_syncs', { max: options.syncMaxPerMinute }) },
      { cmd: Cmd.Typing, perMinute: options.typingMaxPerMinute, refusal: new AppError('too_many_typing', { max: options.typingMaxPerMinute }) },
    ];
    this.wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes * 4, perMessageDeflate: false, clientTracking: true });
    this.handlers = createHandlers({
      ...deps,
      onSignedIn: (c) => {
        this.clearSignInTimer(c);
        deps.countSignIn?.();
      },
      admitUser: (c, userId) => this.admitUser(c, userId),
      maxSocketsPerUser: options.maxSocketsPerUser,
    });
    this.heartbeat = setInterval(() => this.beat(), Math.max(10, Math.floor(options.pingIntervalMs / HEARTBEAT_TICKS)));
    this.heartbeat.unref();
    deps.tokens.onRevoked((claims) => this.endSession(claims.userId, claims.jti));
    deps.tokens.onAllRevoked((userId) => this.endSession(userId, '*'));
  }

  /**
   * Closes this node's sockets signed in with the token `jti` (4003): it was revoked here or on
   * another node. `jti` '*': every session of the user ended, so all of their sockets.
   */
  endSession(userId: number, jti: string): void {
    for (const c of this.deps.hub.connectionsOf(userId)) if (jti === '*' || c.jti === jti) c.close(CloseCode.SessionEnded, 'session ended');
  }

  /**
   * Asks every signed-in socket here to sync (Cmd 24), after pushes to them may have been lost
   * on the way between nodes. Returns how many were asked.
   */
  askToSync(): number {
    const frame = JSON.stringify(syncNeededFrame());
    let asked = 0;
    for (const connection of this.deps.hub.all()) if (connection.send(frame)) asked++;
    return asked;
  }

  /**
   * Reads what each signed-in socket here misses of its streams from the database and sends it
   * live (after another node died: its last commits may never have been pushed). Returns how many
   * sockets were looked at.
   */
  repairStreams(): Promise<number> {
    return this.deps.repair?.repairAll(this.deps.hub.all()) ?? Promise.resolve(0);
  }

  /**
   * Closes (4003) the sockets here whose token was revoked meanwhile: after pushes between nodes
   * may have been lost, a logout on another node may have been among them. Returns how many.
   */
  async endRevokedSessions(): Promise<number> {
    const connections = [...this.deps.hub.all()].filter((c) => c.jti !== undefined);
    const sessions = new Map(connections.map((c) => [c.jti!, { jti: c.jti!, userId: c.userId!, issuedAtMs: c.issuedAtMs }]));
    const over = await this.deps.tokens.endedOf([...sessions.values()]);
    const ended = connections.filter((c) => over.has(c.jti!));
    for (const c of ended) c.close(CloseCode.SessionEnded, 'session ended');
    return ended.length;
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
  }

  get socketCount(): number {
    return this.connections.size;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    const refuse = (status: string, headers = '') => {
      socket.end(`HTTP/1.1 ${status}\r\n${headers}Connection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const app = this.deps.appConnections?.wants(req) ? this.deps.appConnections : undefined;
    if (path !== '/ws' && !app) return refuse('404 Not Found');
    if (this.closing) return refuse('503 Service Unavailable');
    const accept = () => (app ? app.handle(req, socket, head) : this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, req)));
    const origin = req.headers.origin;
    if (origin && this.options.allowedOrigins.length > 0 && !this.options.allowedOrigins.includes(origin)) return refuse('403 Forbidden');
    const max = this.options.maxSocketsPerIp;
    if (max === 0) return accept();
    const key = `ip:${addressKey(clientIp(req, this.options.trustProxyHops))}`;
    // The HTTP server has let go of the socket: while the count is asked, its errors are ours.
    const onError = () => socket.destroy();
    socket.on('error', onError);
    this.deps.sockets.acquire(key, max).then(
      (counted) => {
        if (!counted) return refuse('429 Too Many Requests', `Retry-After: ${SOCKETS_RETRY_AFTER_SECONDS}\r\n`);
        // Counted until the connection closes, whether the upgrade goes through or not.
        const release = () => this.releaseCount(key);
        if (socket.destroyed) return release();
        socket.once('close', release);
        socket.off('error', onError);
        if (this.closing) return refuse('503 Service Unavailable');
        accept();
      },
      (err: unknown) => {
        this.deps.log.error({ err }, 'counting a socket failed');
        refuse('500 Internal Server Error');
      },
    );
  }

  /**
   * Counts a signing-in socket against its user's cap; false when the user already holds
   * `maxSocketsPerUser` sockets, or the socket closed meanwhile. Counted until it closes.
   */
  private async admitUser(connection: Connection, userId: number): Promise<boolean> {
    const max = this.options.maxSocketsPerUser;
    if (max === 0) return true;
    const key = `user:${userId}`;
    if (!(await this.deps.sockets.acquire(key, max))) return false;
    if (connection.ws.readyState !== connection.ws.OPEN) {
      this.releaseCount(key);
      return false;
    }
    connection.countedAs = key;
    return true;
  }

  private releaseCount(key: string): void {
    this.deps.sockets.release(key).catch((err: unknown) => this.deps.log.warn({ err }, 'socket count release failed'));
  }

  private accept(ws: WebSocket, socket: Duplex, req: IncomingMessage): void {
    // Frames built once are written to the socket beside ws (connection.ts), which is sound only
    // while ws writes every frame at once: no extension (per-message deflate is off above).
    if (ws.extensions !== '') {
      this.deps.log.error({ extensions: ws.extensions }, 'a WebSocket extension was negotiated: refusing the socket');
      ws.close(1011, 'unsupported extension');
      return;
    }
    const connection = new Connection(ws, socket, this.options.maxBufferedBytes, this.deps.repair);
    connection.locale = localeOf(req.headers['accept-language'], this.options.defaultLocale);
    connection.limits = new FrameLimits(this.frameLimits);
    this.connections.add(connection);
    this.signInTimers.set(connection, setTimeout(() => connection.close(CloseCode.SignInTimeout, 'sign-in timeout'), this.options.signInTimeoutMs));
    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on('message', (data, isBinary) => this.receive(connection, data, isBinary));
    ws.on('error', (err) => this.deps.log.debug({ err }, 'socket error'));
    ws.on('close', () => {
      this.connections.delete(connection);
      this.clearSignInTimer(connection);
      if (connection.countedAs) this.releaseCount(connection.countedAs);
      // While the node shuts down its users stay in the directory: when it leaves the cluster, a
      // live node clears its entries and tells the friends of those who did not reconnect elsewhere.
      if (this.deps.hub.remove(connection) && !this.closing) {
        void this.deps.directory.unregister(connection.userId!);
        this.deps.presence.changed(connection.userId!);
      }
    });
  }

  private receive(connection: Connection, data: RawData, isBinary: boolean): void {
    connection.alive = true;
    const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
    if (isBinary) return this.refuse(connection, new AppError('text_frames_only'));
    if (size > this.options.maxFrameBytes) return this.refuse(connection, new AppError('frame_too_large', { max: this.options.maxFrameBytes }));
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) return this.refuse(connection, parsed.error, parsed.clientMsgId);
    if (!connection.signedIn && parsed.frame.Cmd !== Cmd.Sign) return this.refuse(connection, new AppError('sign_in_first'));
    // Past a command's limit: Cmd 2 with 1005, and a refused frame like a malformed one (4009 when it goes on).
    const overLimit = connection.limits?.refusalFor(parsed.frame.Cmd);
    if (overLimit) return this.refuse(connection, overLimit);
    connection.badFrames = 0;
    const frame = parsed.frame;
    const run = () =>
      this.dispatch(connection, frame).catch((err: unknown) => {
        const clientMsgId = 'ClientMsgId' in frame ? frame.ClientMsgId : undefined;
        const retryable = retryableError(err);
        if (retryable) this.deps.log.warn({ err, cmd: frame.Cmd }, 'database unavailable');
        else this.deps.log.error({ err, cmd: frame.Cmd }, 'frame handler failed');
        const answer = retryable ?? new AppError('internal');
        connection.fail(answer, clientMsgId);
        // A sign-in or sync cut short leaves the client waiting for Cmd 4 / Cmd 23: it reconnects
        // and signs in with its cursors again (1013: try again later).
        if (frame.Cmd === Cmd.Sign || frame.Cmd === Cmd.Sync) connection.close(retryable ? CloseCode.TryAgainLater : CloseCode.InternalError, 'sign-in or sync failed, reconnect');
      });
    // A socket's sends and reads are handled one after the other, so they are stored in the order sent.
    if (frame.Cmd === Cmd.Send || frame.Cmd === Cmd.Read) connection.serial = connection.serial.then(run);
    else void run();
  }

  private dispatch(connection: Connection, frame: ClientFrame): Promise<void> {
    const handler = this.handlers[frame.Cmd] as (c: Connection, f: ClientFrame) => Promise<void>;
    return handler(connection, frame);
  }

  private refuse(connection: Connection, error: AppError, clientMsgId?: string): void {
    connection.fail(error, clientMsgId);
    if (++connection.badFrames >= this.options.maxBadFrames) connection.close(CloseCode.TooManyBadFrames, 'too many bad frames');
  }

  private clearSignInTimer(connection: Connection): void {
    const timer = this.signInTimers.get(connection);
    if (timer) clearTimeout(timer);
    this.signInTimers.delete(connection);
  }

  /**
   * Visits the next 1/HEARTBEAT_TICKS of the sockets (a round starts at most once per ping
   * interval): pings each; one that has not answered a ping sent at least an interval ago, or
   * whose token expired, is closed.
   */
  private beat(): void {
    const now = Date.now();
    const share = Math.ceil(this.connections.size / HEARTBEAT_TICKS);
    for (let visited = 0; visited < share; visited++) {
      let next = this.heartbeatCursor?.next();
      if (!next || next.done) {
        if (now - this.heartbeatRoundStartedAt < this.options.pingIntervalMs) return;
        this.heartbeatRoundStartedAt = now;
        this.heartbeatCursor = this.connections.values();
        next = this.heartbeatCursor.next();
        if (next.done) return;
      }
      const connection = next.value;
      if (!connection.alive) {
        if (now - connection.pingedAt >= this.options.pingIntervalMs) connection.ws.terminate();
        continue;
      }
      if (connection.expiresAt > 0 && now / 1000 > connection.expiresAt) {
        connection.close(CloseCode.SessionEnded, 'token expired');
        continue;
      }
      connection.alive = false;
      connection.pingedAt = now;
      connection.ws.ping();
    }
  }

  /**
   * The first step of a graceful stop, which spreads the reconnects of this node's sockets over
   * time instead of sending them all to the other nodes at once: stops accepting sockets (503), tells
   * each open one when it will be closed (Cmd 26; the k-th at k / `pacer.perSecond` s, jittered
   * within its slot), then closes them (1012) on that schedule, each after the sends it is handling
   * have been answered (1 s at most), and never more than `pacer.perSecond` in any second, with
   * whatever else the pacer counts (after the event loop was held up, the overdue ones follow at
   * that rate, a little after their time).
   * Frames keep flowing to a socket until its turn. Resolves when the last one has been closed, with
   * how many were closed, over how long, and the most closed in one second.
   */
  async drain(pacer: ClosePacer): Promise<DrainReport> {
    this.closing = true;
    const sockets = [...this.connections];
    const slotMs = 1000 / pacer.perSecond;
    const began = Date.now();
    const schedule = sockets.map((connection, k) => ({ connection, at: Math.round((k + Math.random()) * slotMs) }));
    for (const { connection, at } of schedule) connection.sendFrame(reconnectFrame(at));
    const closes: Array<Promise<void>> = [];
    for (const { connection, at } of schedule) {
      const wait = began + at - Date.now();
      // Timers fire no closer than ~1 ms apart: sockets whose slots have come are closed together.
      if (wait > 1) await sleep(wait);
      closes.push(this.closeWhenAnswered(connection, pacer));
    }
    await Promise.all(closes);
    return { sockets: pacer.count, ms: Date.now() - began, peakPerSecond: pacer.peakPerSecond() };
  }

  private async closeWhenAnswered(connection: Connection, pacer: ClosePacer): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([connection.serial, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    await pacer.take();
    connection.close(CloseCode.ServiceRestart, 'server restarting, reconnect');
  }

  /**
   * Stops accepting sockets and closes the open ones (1001 going away); sockets that have not
   * finished the closing handshake within `graceMs` are cut.
   */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    clearInterval(this.heartbeat);
    for (const timer of this.signInTimers.values()) clearTimeout(timer);
    for (const ws of this.wss.clients) ws.close(CloseCode.GoingAway, 'server shutting down');
    const closed = new Promise<void>((resolve) => this.wss.close(() => resolve()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const ws of this.wss.clients) ws.terminate();
    await closed;
  }
}
