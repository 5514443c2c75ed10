import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, type Config } from '../../src/config.js';
import type { DbHandle } from '../../src/db/connect.js';
import type { Dialect } from '../../src/db/migration-kit.js';
import { createNode, type NodeOptions, type WeimNode } from '../../src/node.js';
import { openTestDatabase } from './database.js';

const repoConfig = fileURLToPath(new URL('../../config.yml', import.meta.url));

export interface TestNode {
  url: string;
  api: string;
  node: WeimNode;
  dbh: DbHandle;
  config: Config;
  stop(): Promise<void>;
}

/**
 * A real weim node on 127.0.0.1:0 over a fresh database of `dialect` (or `options.database`), configured from the
 * repository's config.yml plus `env` (WEIM_* overrides). bcrypt runs at cost 4 to keep tests quick.
 */
export async function startTestNode(dialect: Dialect, env: Record<string, string> = {}, options: NodeOptions = {}): Promise<TestNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-test-'));
  const config = loadConfig({
    WEIM_CONFIG: repoConfig,
    WEIM_DATA_DIR: dataDir,
    WEIM_AUTH_BCRYPT_COST: '4',
    WEIM_AUTH_REGISTER_MAX_PER_IP: '100000',
    WEIM_AUTH_LOGIN_MAX_PER_IP: '100000',
    WEIM_LOG_LEVEL: 'silent',
    WEIM_SERVER_DRAIN_DELAY_MS: '0',
    WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '1000000',
    // Tests read English messages; the default (zh, as weIm-go clients expect) is tested in error-reasons.test.ts.
    WEIM_I18N_DEFAULT_LOCALE: 'en',
    ...env,
  });
  // A database passed in is shared (several nodes of a cluster) and stays open after stop().
  const dbh = options.database ?? (await openTestDatabase(dialect));
  const node = await createNode(config, pino({ level: config.log.level }), { recordNotifications: true, ...options, database: dbh });
  const url = await node.listen(0, '127.0.0.1');
  return {
    url,
    api: `${url}/api/v1`,
    node,
    dbh,
    config,
    async stop() {
      await node.stop();
      if (!options.database) await dbh.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
