import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { redactUrl, StartupError } from './errors.js';
import { createNode } from './node.js';
import { superviseWorkers } from './workers.js';

/** Process entry point: config → node → listen; graceful stop on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const worker = process.env.WEIM_WORKER_INDEX;
  const log = pino({ level: config.log.level, base: { service: 'weim', ...(worker ? { worker: Number(worker) } : {}) } });
  if (config.server.workers > 1 && cluster.isPrimary) {
    await superviseWorkers(config, log);
    return;
  }
  if (!config.production && config.auth.jwt_secret.startsWith('weim-dev-')) {
    log.warn('using the development JWT secret: set WEIM_AUTH_JWT_SECRET before exposing this node');
  }
  const node = await createNode(config, log, { processMetrics: true });
  const url = await node.listen();
  const address = node.server.address() as AddressInfo;
  log.info(
    {
      listen: address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`,
      url,
      nodeId: node.nodeId,
      cluster: config.cluster.mode === 'cluster' ? { mode: 'cluster', redis: redactUrl(config.cluster.redis_url), etcd: config.cluster.etcd_hosts } : { mode: 'single' },
      database: config.db.dialect === 'mysql' ? { dialect: 'mysql', url: redactUrl(config.db.url) } : { dialect: 'sqlite', file: join(config.data_dir, 'weim.sqlite') },
      search: config.search.backend === 'elastic' ? { backend: 'elastic', url: redactUrl(config.search.elastic_url) } : { backend: 'sql' },
      blobs: config.uploads.store === 'qiniu' ? { store: 'qiniu', bucket: config.qiniu.bucket, domain: config.qiniu.domain } : { store: 'local', dir: config.data_dir, path: config.uploads.public_path },
      production: config.production,
    },
    'weim listening',
  );
  // Under a supervisor (server.workers > 1): tell it this worker serves.
  process.send?.({ weim: 'listening' });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    node.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  // A StartupError's message is written for the operator; anything else gets its stack too.
  console.error('weim failed to start:', err instanceof StartupError ? err.message : err);
  process.exit(1);
});
