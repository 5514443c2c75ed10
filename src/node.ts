import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { type Config, migratesOnStart } from './config.js';
import { openConfiguredDatabase, type DbHandle } from './db/connect.js';
import { migrateToLatest } from './db/migrate.js';
import { createRateLimiter, type RateLimitStore } from './http/rate-limiter.js';
import { AttachmentsService } from './modules/attachments/index.js';
import { AuthService, pruneRevocations, TokenService } from './modules/auth/index.js';
import { UsersService } from './modules/users/index.js';
import { createMetrics } from './ops/metrics.js';
import type { BlobStore } from './storage/blob-store.js';
import { LocalBlobStore } from './storage/blob-store.local.js';
import { QiniuBlobStore } from './storage/blob-store.qiniu.js';

export interface NodeOptions {
  /** Open this database instead of the one the config names (tests share one per file). */
  database?: DbHandle;
  /** Collect process-wide default metrics (only one node per process should). */
  processMetrics?: boolean;
}

export interface WeimNode {
  server: Server;
  dbh: DbHandle;
  tokens: TokenService;
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
    config.uploads.default_avatar,
  );
  const users = new UsersService(dbh.db, config.realname.id_card_secret);
  const blobs = createBlobStore(config);
  const uploads = config.uploads;
  const attachments = new AttachmentsService(
    dbh.db,
    blobs,
    users,
    createRateLimiter(store, { name: 'upload-user', points: uploads.max_per_user, windowSeconds: uploads.window_seconds }),
    {
      perType: { 1: uploads.picture_max_bytes, 2: uploads.voice_max_bytes, 3: uploads.video_max_bytes, 6: uploads.file_max_bytes },
      avatar: uploads.avatar_max_bytes,
    },
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
    attachments,
    localFiles: blobs instanceof LocalBlobStore ? { publicPath: uploads.public_path, store: blobs } : undefined,
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
      if (ownsDatabase) await dbh.close();
    },
  };
}

/** The configured attachment store: files under the data directory, or Qiniu. */
function createBlobStore(config: Config): BlobStore {
  const kind = config.uploads.store;
  switch (kind) {
    case 'local':
      return new LocalBlobStore(join(config.data_dir, 'blobs'), config.uploads.public_path);
    case 'qiniu':
      return new QiniuBlobStore({
        accessKey: config.qiniu.access_key,
        secretKey: config.qiniu.secret_key,
        bucket: config.qiniu.bucket,
        domain: config.qiniu.domain,
        private: config.qiniu.private,
        urlTtlSeconds: config.qiniu.url_ttl_seconds,
        uploadUrl: config.qiniu.upload_url,
      });
    default:
      throw new Error(`unknown uploads.store ${String(kind satisfies never)}`);
  }
}
