import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Cluster } from '../../cluster/cluster.js';
import type { Delivery } from '../../cluster/delivery.js';
import type { ClosePacer } from '../../gateway/close-pacer.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { WebhookRecorder } from '../webhooks/index.js';
import { AppGateway } from './app-gateway.js';
import { AppHub } from './app-hub.js';
import { AppRegistry } from './apps.registry.js';
import { AppsService } from './apps.service.js';
import { ClientIds } from './client-id.js';
import { trustedNetworks } from './app-calls.js';
import { woodylanRoutes } from './woodylan.routes.js';
import { xlveinPushRoute } from './xlvein.js';
import { addAppApiRoutes } from './apps.routes.js';
import { createRateLimiter } from '../../http/rate-limiter.js';
import { requirePushApp } from '../push/push.auth.js';

export type { AppsTable } from './apps.table.js';
export { ClientIds } from './client-id.js';
export { AppRegistry } from './apps.registry.js';
export { xlveinPushInput, xlveinSign } from './xlvein.js';
export { appSchemas } from './apps.routes.js';

/** The realtime gateway for other apps (docs/gateway.md): its connections, operations and drop-in routes. */
export interface Apps {
  /** woodylan's HTTP API, mounted at /api. */
  routes: Router;
  /** App connections, for the IM gateway's upgrade: whether a request is one, and taking it. */
  connections: { wants(req: IncomingMessage): boolean; handle(req: IncomingMessage, socket: Duplex, head: Buffer): void };
  /** Adds xlvein's push (`/im/push`) to the API router (under /api/v1), after its body reader. */
  addApiRoutes(api: Router): void;
  /** Adds weim's signed app API (`/apps/*`) to the API router, before its body reader (they read their own, raw). */
  addSignedApiRoutes(api: Router): void;
  /** Writes the configured apps to the table. */
  start(): Promise<void>;
  /** Closes the app connections at the rate `pacer` keeps (see AppGateway.drain). */
  drain(pacer: ClosePacer): Promise<{ connections: number }>;
  /** App connections on this node. */
  readonly connectionCount: number;
}

export function createApps(config: Config, db: Db, cluster: Pick<Cluster, 'appGroups' | 'bus' | 'discovery' | 'once' | 'idempotency' | 'rateLimits'>, delivery: Delivery, nodeId: string, log: Logger, webhooks?: WebhookRecorder): Apps {
  const registry = new AppRegistry(db);
  const ids = new ClientIds(config.auth.jwt_secret);
  const hub = new AppHub();
  const service = new AppsService(nodeId, ids, hub, cluster.appGroups, cluster.bus, cluster.discovery, log, db, webhooks, config.apps.node_call_timeout_ms);
  delivery.appBatches = (target, payload) => service.received(target, payload);
  const gateway = new AppGateway(nodeId, registry, ids, hub, service, log, config.gateway.ping_interval_ms);
  const idempotency = { store: cluster.idempotency, ttlSeconds: config.push.idempotency_ttl_seconds, log };
  const routes = woodylanRoutes({
    registry,
    idempotency,
    service,
    once: cluster.once,
    trusted: trustedNetworks(config.apps.trusted_networks),
    trustProxyHops: config.server.trust_proxy_hops,
    maxSkewSeconds: config.push.max_skew_seconds,
    maxMessageBytes: config.apps.max_message_bytes,
    bodyLimitBytes: config.server.body_limit_bytes,
  });
  return {
    routes,
    connections: { wants: (req) => AppGateway.wants(req), handle: (req, socket, head) => gateway.handle(req, socket, head) },
    addApiRoutes: (api) => xlveinPushRoute(api, { registry, service, once: cluster.once, idempotency, maxSkewSeconds: config.push.max_skew_seconds }),
    addSignedApiRoutes: (api) => {
      const auth = requirePushApp({
        apps: registry,
        once: cluster.once,
        idempotency,
        maxSkewSeconds: config.push.max_skew_seconds,
        limit: createRateLimiter(cluster.rateLimits, { name: 'apps', points: config.push.max_per_second, windowSeconds: 1 }),
      });
      addAppApiRoutes(api, service, auth, { bodyLimitBytes: config.server.body_limit_bytes, maxMessageBytes: config.apps.max_message_bytes });
    },
    start: async () => {
      await registry.seed(config.apps.list.map((a) => ({ key: a.key, name: a.name, secret: a.secret, enabled: a.enabled, api: a.api })));
      await service.start();
    },
    drain: (pacer) => gateway.drain(pacer),
    get connectionCount() {
      return hub.size;
    },
  };
}
