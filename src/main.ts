import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { createNode } from './node.js';

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
  const log = pino({ level: config.log.level, base: { service: 'weim' } });
  if (!config.production && config.auth.jwt_secret.startsWith('weim-dev-')) {
    log.warn('using the development JWT secret: set WEIM_AUTH_JWT_SECRET before exposing this node');
  }
  const node = await createNode(config, log, { processMetrics: true });
  const url = await node.listen();
  log.info({ url, dialect: config.db.dialect, dataDir: config.data_dir }, 'weim listening');

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
  console.error('weim failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
