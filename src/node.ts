import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { type Cluster, createCluster } from './cluster/cluster.js';
import { Delivery } from './cluster/delivery.js';
import { createApps } from './modules/apps/index.js';
import { wireCluster } from './cluster/wiring.js';
import { type Config, migratesOnStart, pushApps } from './config.js';
import { openConfiguredDatabase, type DbHandle } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { awaitDatabase, requireMigrated } from './db/startup.js';
import { Gateway } from './gateway/gateway.js';
import { ClosePacer } from './gateway/close-pacer.js';
import { Hub } from './gateway/hub.js';
import { StreamRepair } from './gateway/stream-repair.js';
import { pruneRevocations } from './modules/auth/index.js';
import { ThreadedMessageWriter } from './modules/messages/index.js';
import { PresenceService } from './modules/presence/index.js';
import { pruneProgress, PushService, pushRoutes, requirePushApp } from './modules/push/index.js';
import { EVENT_BODY_CHARS } from './modules/conversations/index.js';
import { asyncApiDocument } from './gateway/asyncapi.js';
import { openApiDocument } from './http/openapi.js';
import { createRateLimiter } from './http/rate-limiter.js';
import { WEIM_VERSION } from './version.js';
import type { Notifier } from './notify/notifier.js';
import { createSearchBackend, type SearchBackend } from './search/backend.js';
import type { Client as ElasticClient } from '@elastic/elasticsearch';
import { RecordingNotifier } from './notify/notifier.recording.js';
import { createMetrics, watchGauge } from './ops/metrics.js';
import { watchLoopStalls } from './ops/loop-stalls.js';
import { AdminService } from './modules/admin/index.js';
import { createModeration } from './modules/moderation/index.js';
import { createOfflinePush } from './modules/offline-push/index.js';
import { createWebhooks } from './modules/webhooks/index.js';
import { createServices, type Services } from './services.js';
import { LocalBlobStore } from './storage/blob-store.local.js';

export interface NodeOptions {
  /** Open this database instead of the one the config names (tests share one per file). */
  database?: DbHandle;
  /** Collect process-wide default metrics (only one node per process should). */
  processMetrics?: boolean;
  /** Keep the recent notifications in memory (`recorder`), for tests. */
  recordNotifications?: boolean;
  /** The Elasticsearch client to use when search.backend is elastic (tests pass one over a mock). */
  elasticClient?: ElasticClient;
}

export interface WeimNode {
  nodeId: string;
  /** The cluster ports (memory ones on a single node). */
  cluster: Cluster;
  server: Server;
  dbh: DbHandle;
  services: Services;
  gateway: Gateway;
  hub: Hub;
  /** Recent notifications, when `recordNotifications` was set. */
  recorder: RecordingNotifier | undefined;
  /** The configured search and nearby indexes. */
  search: SearchBackend;
  /** Listens on the configured host/port (0 = ephemeral); resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, closes sockets, lets in-flight requests and writes finish, closes pools. */
  stop(): Promise<void>;
}

/**
 * Builds one weim node from config: database (migrated when configured), delivery (directory,
 * bus, hub), services, the Express app, the WebSocket gateway and the HTTP server they share.
 * The process entry point (main.ts) and the tests both use this.
 */
export async function createNode(config: Config, log: Logger, options: NodeOptions = {}): Promise<WeimNode> {
  const ownsDatabase = options.database === undefined;
  const dbh = options.database ?? openConfiguredDatabase(config);
  if (ownsDatabase) await prepareDatabase(dbh, config, log);

  const nodeId = config.cluster.node_id || `${hostname()}-${process.pid}`;
  const hub = new Hub();
  const cluster = createCluster(config, nodeId, log);
  const { directory } = cluster;
  try {
    await cluster.start(hub);
  } catch (err) {
    await cluster.close().catch(() => {});
    if (ownsDatabase) await dbh.close();
    throw err;
  }
  const delivery = new Delivery(nodeId, directory, cluster.bus, hub, log, cluster.relay, config.cluster.mode === 'cluster' ? () => cluster.discovery.liveNodes() : undefined);
  await delivery.start();
  const recorder = options.recordNotifications ? new RecordingNotifier(delivery) : undefined;
  const notifier: Notifier = recorder ?? delivery;
  // SQLite: searches and nearby queries on threads of their own, off the event loop.
  const reader = dbh.openReader?.(config.db.sqlite_readers);
  const search = createSearchBackend(config, dbh.db, log, options.elasticClient, reader?.db);
  await search.index.start();
  const metrics = createMetrics({ processMetrics: options.processMetrics ?? false });
  // MySQL: the message writer on its own thread, or else on its own connections here; either is
  // owned by this node even when the database is not.
  const writerThread = dbh.dialect === 'mysql' && config.messages.writer_thread === 'true';
  const writerSession = writerThread ? undefined : dbh.openManualCommit?.();
  const writerSpareSession = writerThread ? undefined : dbh.openManualCommit?.();
  // In a cluster the limits count in Redis: ten login attempts are ten, whichever nodes they reach.
  const moderation = createModeration(config, log, metrics.observeBeforeSend);
  const webhooks = createWebhooks(config, dbh.db, log, metrics.countWebhookDelivery);
  const gatewayApps = createApps(config, dbh.db, cluster, delivery, nodeId, log, webhooks.recorder);
  await gatewayApps.start();
  const services = createServices(config, dbh.db, cluster.rateLimits, notifier, search, {
    moderation,
    webhooks: webhooks.recorder,
    onMessageBatch: metrics.observeMessageBatch,
    writerSession: writerSession?.db,
    writerSpareSession: writerSpareSession?.db,
    writerThreadLocation: writerThread ? dbh.location : undefined,
  });
  // The writer's thread is started with the node, not by its first message.
  if (services.writer instanceof ThreadedMessageWriter) await services.writer.start();
  const presence = new PresenceService(dbh.db, notifier, directory, nodeId, { coalesceMs: config.presence.coalesce_ms, maxFanout: config.presence.max_fanout }, log, webhooks.recorder);

  const apps = pushApps(config);
  const push = apps.size === 0 ? undefined : pushRoutes(new PushService(dbh.db, notifier, delivery, directory, services.tokens), {
    auth: requirePushApp({
      apps,
      once: cluster.once,
      idempotency: { store: cluster.idempotency, ttlSeconds: config.push.idempotency_ttl_seconds, log },
      maxSkewSeconds: config.push.max_skew_seconds,
      limit: createRateLimiter(cluster.rateLimits, { name: 'push', points: config.push.max_per_second, windowSeconds: 1 }),
    }),
    bodyLimitBytes: config.server.body_limit_bytes,
    maxUsers: config.push.max_users,
    maxBodyChars: Math.min(config.push.max_body_chars, EVENT_BODY_CHARS),
  });

  const offlinePush = createOfflinePush(config, dbh.db, services.devices, async (ids) => [...(await directory.locate(ids)).values()].flat(), log, metrics.countOfflinePush);
  if (offlinePush) services.messages.onStored((m) => offlinePush.messageStored(m));
  const admin = config.admin.token
    ? {
        token: config.admin.token,
        service: new AdminService(dbh.db, {
          tokens: services.tokens,
          groupAdmin: services.groupAdmin,
          messages: services.messages,
          online: async (ids) => [...(await directory.locate(ids)).values()].flat(),
          here: () => ({ node: nodeId, sockets: gateway.socketCount, users: hub.userCount }),
        }),
      }
    : undefined;
  let draining = false;
  const app = createApp({
    admin,
    appRoutes: gatewayApps.routes,
    addAppApiRoutes: gatewayApps.addApiRoutes,
    addSignedAppApiRoutes: gatewayApps.addSignedApiRoutes,
    log,
    defaultLocale: config.i18n.default_locale,
    bodyLimitBytes: config.server.body_limit_bytes,
    trustProxyHops: config.server.trust_proxy_hops,
    metrics,
    health: {
      // Ready when the database and, in a cluster, Redis answer and this node is registered.
      checkReady: async () => {
        await Promise.all([dbh.ping(), cluster.ping()]);
      },
      isDraining: () => draining,
      metricsToken: config.server.metrics_token,
    },
    ...services,
    presence,
    push,
    localFiles: services.blobs instanceof LocalBlobStore ? { publicPath: config.uploads.public_path, store: services.blobs } : undefined,
    asyncApi: () => asyncApiDocument(WEIM_VERSION),
    web: config.web.enabled,
    openApi: () => openApiDocument({ version: WEIM_VERSION, push: push ? { maxUsers: config.push.max_users, maxBodyChars: Math.min(config.push.max_body_chars, EVENT_BODY_CHARS) } : undefined, admin: admin !== undefined }),
  });
  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, app);
  const requestsOn = trackRequests(server);
  const repair = new StreamRepair(services.sync, config.gateway.reorder_wait_ms, log, metrics.observeStreamRepair);
  const gateway = new Gateway(
    { tokens: services.tokens, messages: services.messages, typing: services.typing, sync: services.sync, conversations: services.conversations, presence, directory, hub, log, repair, sockets: cluster.sockets, countSignIn: metrics.countSignIn, appConnections: gatewayApps.connections },
    {
      signInTimeoutMs: config.gateway.sign_in_timeout_ms,
      pingIntervalMs: config.gateway.ping_interval_ms,
      maxFrameBytes: config.gateway.max_frame_bytes,
      defaultLocale: config.i18n.default_locale,
      maxBufferedBytes: config.gateway.max_buffered_bytes,
      allowedOrigins: config.gateway.allowed_origins.split(',').map((o) => o.trim()).filter(Boolean),
      maxBadFrames: config.gateway.max_bad_frames,
      trustProxyHops: config.server.trust_proxy_hops,
      maxSocketsPerIp: config.gateway.max_sockets_per_ip,
      maxSocketsPerUser: config.gateway.max_sockets_per_user,
      pingMaxPerMinute: config.gateway.ping_max_per_minute,
      syncMaxPerMinute: config.gateway.sync_max_per_minute,
      typingMaxPerMinute: config.gateway.typing_max_per_minute,
    },
  );
  gateway.attach(server);
  const clusterWiring = await wireCluster(cluster, {
    askToSync: () => gateway.askToSync(),
    repairStreams: () => gateway.repairStreams(),
    usersLost: (userIds) => presence.lost(userIds),
    endSession: (userId, jti, at) => {
      services.tokens.endedElsewhere(userId, jti, at);
      gateway.endSession(userId, jti);
    },
    endRevokedSessions: () => gateway.endRevokedSessions(),
    forgetFriendship: (a, b) => services.friends.forgetFriendship(a, b),
    forgetAllFriendships: () => services.friends.forgetAllFriendships(),
    onSessionEnded: (listener) => {
      services.tokens.onRevoked((claims) => listener(claims.userId, claims.jti));
      services.tokens.onAllRevoked((userId, at) => listener(userId, '*', at));
    },
    onFriendshipEnded: (listener) => services.friends.onEnded(listener),
    recovered: metrics.countRecovery,
  }, log);
  watchGauge(metrics.registry, 'weim_ws_sockets', 'Open WebSocket connections on this node', () => gateway.socketCount);
  watchGauge(metrics.registry, 'weim_ws_users', 'Users with a signed-in socket on this node', () => hub.userCount);
  watchGauge(metrics.registry, 'weim_app_connections', 'Realtime gateway app connections on this node (docs/gateway.md)', () => gatewayApps.connectionCount);
  if (webhooks.dispatchers.length > 0) {
    const sum = (of: (d: (typeof webhooks.dispatchers)[number]) => number) => webhooks.dispatchers.reduce((n, d) => n + of(d), 0);
    watchGauge(metrics.registry, 'weim_webhook_outbox_pending', 'Webhook events waiting for delivery, all receivers (cluster-wide, as this node last counted)', () => sum((d) => d.outboxDepth.pending));
    watchGauge(metrics.registry, 'weim_webhook_outbox_dead', 'Webhook events that failed webhooks.max_attempts times, all receivers (kept, not retried)', () => sum((d) => d.outboxDepth.dead));
    for (const d of webhooks.dispatchers) d.start();
  }
  const pruner = setInterval(() => {
    pruneRevocations(dbh.db, Date.now()).catch((err: unknown) => log.warn({ err }, 'pruning token revocations failed'));
    // An operation's progress is needed while its key is kept (a retry resumes it), not after.
    pruneProgress(dbh.db, Date.now() - config.push.idempotency_ttl_seconds * 1000 - 3600_000).catch((err: unknown) => log.warn({ err }, 'pruning push progress failed'));
  }, 3600_000);
  pruner.unref();
  // Logged when the loop was held up a second or more (the cluster lease, pings and timers wait).
  const stopStallWatch = watchLoopStalls(log, { thresholdMs: 1000, ...(config.cluster.mode === 'cluster' ? { leaseSeconds: config.cluster.lease_seconds } : {}) });

  return {
    nodeId,
    cluster,
    server,
    dbh,
    services,
    gateway,
    hub,
    recorder,
    search,
    listen(port = config.server.port, host = config.server.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: 4096 }, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`);
        });
      });
    },
    async stop() {
      draining = true;
      stopStallWatch();
      // Readiness first: load balancers stop sending new sockets and requests here, then the open
      // sockets move to other nodes at a bounded rate (no reconnect storm), then the rest stops.
      if (config.server.drain_delay_ms > 0) await new Promise((resolve) => setTimeout(resolve, config.server.drain_delay_ms));
      // One rate for every close: the IM sockets', then the realtime gateway's connections (their protocols have no "move" frame).
      const pacer = new ClosePacer(config.server.drain_closes_per_second);
      const drained = await gateway.drain(pacer);
      log.info({ ...drained, closesPerSecond: config.server.drain_closes_per_second }, 'drained: sockets told to move and closed');
      const apps = await gatewayApps.drain(pacer);
      if (apps.connections > 0) log.info({ ...apps, peakPerSecond: pacer.peakPerSecond() }, 'drained: app connections closed');
      clearInterval(pruner);
      // No more clearing of dead nodes (one under way finishes, its users announced as usual).
      clusterWiring.stop();
      await directory.stopClearing();
      // Nor repairs of sockets' streams (another node's stop starts them; the sockets here are closed).
      await repair.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
      server.closeIdleConnections();
      // Connections with no request under way are closed now and as they become so: Node's idle
      // list leaves out one that never sent a request (a browser's pre-connected socket), which
      // would hold the stop for the whole shutdown_timeout_ms.
      const sweep = () => {
        for (const [socket, requests] of requestsOn) if (requests === 0) socket.destroy();
      };
      sweep();
      const sweeper = setInterval(sweep, 100);
      const timer = setTimeout(() => server.closeAllConnections(), config.server.shutdown_timeout_ms);
      await closed;
      clearTimeout(timer);
      clearInterval(sweeper);
      // The sockets closed without announcing (in a cluster a live node will, for those who do not
      // reconnect elsewhere); changes still in their window are announced now, then no more.
      await presence.stop();
      await Promise.all(webhooks.dispatchers.map((d) => d.stop()));
      moderation.stop();
      delivery.stop();
      await services.writer.close();
      await writerSession?.close();
      await writerSpareSession?.close();
      await reader?.close();
      await search.index.stop();
      await cluster.close();
      if (ownsDatabase) await dbh.close();
    },
  };
}

/**
 * Start-up fails, naming the database, when it cannot be reached or logged into, or when its schema
 * is behind this build and migrating on start is off; a node never listens on a database it cannot use.
 */
export async function prepareDatabase(dbh: DbHandle, config: Pick<Config, 'db'>, log: Logger): Promise<void> {
  try {
    await awaitDatabase(dbh, config.db.connect_timeout_ms);
    if (migratesOnStart(config)) {
      await migrateToLatest(dbh.db, log);
      return;
    }
    const { unknown } = await requireMigrated(dbh);
    if (unknown.length > 0) log.warn({ migrations: unknown }, 'the database has migrations this build does not know (run by a newer weim)');
  } catch (err) {
    await dbh.close().catch(() => {});
    throw err;
  }
}

/** Each open HTTP connection with the number of its requests under way (WebSocket upgrades: none). */
function trackRequests(server: Server): Map<Socket, number> {
  const requestsOn = new Map<Socket, number>();
  server.on('connection', (socket: Socket) => {
    requestsOn.set(socket, 0);
    socket.once('close', () => requestsOn.delete(socket));
  });
  server.on('upgrade', (req: IncomingMessage) => requestsOn.delete(req.socket));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    if (!requestsOn.has(socket)) return;
    requestsOn.set(socket, requestsOn.get(socket)! + 1);
    res.once('close', () => {
      const n = requestsOn.get(socket);
      if (n !== undefined) requestsOn.set(socket, n - 1);
    });
  });
  return requestsOn;
}
