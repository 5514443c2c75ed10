import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { type Config, migratesOnStart } from './config.js';
import { openConfiguredDatabase, type DbHandle } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { createRateLimiter, type RateLimitStore } from './http/rate-limiter.js';
import { AuthService, pruneRevocations, TokenService } from './modules/auth/index.js';
import { FriendsService } from './modules/friends/index.js';
import { GeoService } from './modules/geo/index.js';
import { GroupsService } from './modules/groups/index.js';
import { SearchService } from './modules/search/index.js';
import { UsersService } from './modules/users/index.js';
import { RecordingNotifier } from './notify/notifier.recording.js';
import { createMetrics } from './ops/metrics.js';
import type { Db } from './db/database.js';
import type { NearbyIndex, SearchIndex } from './search/index.js';
import { ElasticNearbyIndex } from './search/nearby-index.elastic.js';
import { SqlNearbyIndex } from './search/nearby-index.sql.js';
import { ElasticSearchIndex } from './search/search-index.elastic.js';
import { SqlSearchIndex } from './search/search-index.sql.js';

export interface NodeOptions {
  /** Open this database instead of the one the config names (tests share one per file). */
  database?: DbHandle;
  /** Collect process-wide default metrics (only one node per process should). */
  processMetrics?: boolean;
  /** The Elasticsearch client to use when search.backend is elastic (tests pass one over a mock). */
  elasticClient?: Client;
}

export interface WeimNode {
  server: Server;
  dbh: DbHandle;
  tokens: TokenService;
  /** Where post-commit events go (recorded in memory until the gateway delivers them). */
  notifier: RecordingNotifier;
  /** The configured search index and nearby index. */
  search: SearchBackend;
  /** Listens on the configured host/port (0 = ephemeral); resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes pools. */
  stop(): Promise<void>;
}

/**
 * Builds one weim node from config: database (migrated when configured), services, the Express
 * app and its HTTP server. The process entry point (main.ts) and the tests both use this.
 */
export async function createNode(config: Config, log: Logger, options: NodeOptions = {}): Promise<WeimNode> {
  const ownsDatabase = options.database === undefined;
  const dbh = options.database ?? openConfiguredDatabase(config);
  if (ownsDatabase && migratesOnStart(config)) await migrateToLatest(dbh.db, log);

  const search = createSearchBackend(config, dbh.db, log, options.elasticClient);
  await search.index.start();
  const store: RateLimitStore = { kind: 'memory' };
  const window = config.auth.login_window_seconds;
  const tokens = new TokenService(dbh.db, { secret: config.auth.jwt_secret, ttlSeconds: config.auth.token_ttl_seconds });
  const auth = new AuthService(
    dbh.db,
    tokens,
    {
      loginPerUser: createRateLimiter(store, { name: 'login-user', points: config.auth.login_max_per_user, windowSeconds: window }),
      loginPerIp: createRateLimiter(store, { name: 'login-ip', points: config.auth.login_max_per_ip, windowSeconds: window }),
      registerPerIp: createRateLimiter(store, { name: 'register-ip', points: config.auth.register_max_per_ip, windowSeconds: window }),
    },
    config.auth.bcrypt_cost,
    search.index,
  );
  const users = new UsersService(dbh.db, config.realname.id_card_secret, search.index);
  const notifier = new RecordingNotifier();
  const friends = new FriendsService(dbh.db, notifier);
  const groups = new GroupsService(
    dbh.db,
    notifier,
    createRateLimiter(store, { name: 'group-create', points: config.groups.create_max_per_hour, windowSeconds: 3600 }),
    { maxMembers: config.groups.max_members, membersPageSize: config.groups.members_page_size },
    search.index,
  );
  const geo = new GeoService(
    dbh.db,
    search.index,
    search.nearby,
    createRateLimiter(store, { name: 'location-update', points: config.geo.update_max_per_minute, windowSeconds: 60 }),
    { windowDays: config.geo.window_days, pageSize: config.geo.page_size },
  );

  let draining = false;
  const app = createApp({
    log,
    bodyLimitBytes: config.server.body_limit_bytes,
    trustProxyHops: config.server.trust_proxy_hops,
    metrics: createMetrics({ processMetrics: options.processMetrics ?? false }),
    health: { checkReady: () => dbh.ping(), isDraining: () => draining },
    tokens,
    auth,
    users,
    friends,
    groups,
    search: new SearchService(search.index, config.search.page_size),
    geo,
  });
  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000 }, app);
  const pruner = setInterval(() => {
    pruneRevocations(dbh.db, Date.now()).catch((err: unknown) => log.warn({ err }, 'pruning token revocations failed'));
  }, 3600_000);
  pruner.unref();

  return {
    server,
    dbh,
    tokens,
    notifier,
    search,
    listen(port = config.server.port, host = config.server.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${shownHost === '0.0.0.0' ? '127.0.0.1' : shownHost}:${address.port}`);
        });
      });
    },
    async stop() {
      draining = true;
      clearInterval(pruner);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), config.server.shutdown_timeout_ms);
      await closed;
      clearTimeout(timer);
      await search.index.stop();
      if (ownsDatabase) await dbh.close();
    },
  };
}

export interface SearchBackend {
  index: SearchIndex;
  nearby: NearbyIndex;
}

/** The search and nearby indexes that config.search.backend names (also used by `npm run reindex`). */
export function createSearchBackend(config: Config, db: Db, log: Logger, elasticClient?: Client): SearchBackend {
  const backend = config.search.backend;
  switch (backend) {
    case 'sql':
      return { index: new SqlSearchIndex(db), nearby: new SqlNearbyIndex(db) };
    case 'elastic': {
      const client = elasticClient ?? new Client({ node: config.search.elastic_url, maxRetries: 0, requestTimeout: 10_000 });
      const index = new ElasticSearchIndex(db, client, {
        indexPrefix: config.search.elastic_index_prefix,
        outboxIntervalMs: config.search.outbox_interval_ms,
        outboxMaxBackoffMs: config.search.outbox_max_backoff_ms,
        log,
      });
      return { index, nearby: new ElasticNearbyIndex(db, client, index.indexName('user')) };
    }
    default:
      throw new Error(`unknown search backend ${(backend satisfies never) as string}`);
  }
}
