import { pino } from 'pino';
import { ConfigError, loadConfig } from '../config.js';
import { openConfiguredDatabase } from '../db/connect.js';
import { migrateToLatest } from '../db/migrate.js';

/** `npm run migrate`: applies pending migrations to the configured database, with progress. */
try {
  const config = loadConfig();
  const log = pino({ level: 'info', base: undefined, timestamp: false });
  const dbh = openConfiguredDatabase(config, 2);
  try {
    const applied = await migrateToLatest(dbh.db, log);
    log.info(`done: ${applied.length} applied (${config.db.dialect})`);
  } finally {
    await dbh.close();
  }
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : `migrate failed: ${(err as Error).message}`);
  process.exit(1);
}
