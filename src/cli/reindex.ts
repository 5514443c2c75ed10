import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { openConfiguredDatabase } from '../db/connect.js';
import { createSearchBackend } from '../search/backend.js';

/** `npm run reindex`: rebuilds the configured search index (SQL tables or Elasticsearch) from the database. */
async function main(): Promise<void> {
  const config = loadConfig();
  const dbh = openConfiguredDatabase(config, 2);
  const log = pino({ level: config.log.level });
  try {
    const { index } = createSearchBackend(config, dbh.db, log);
    console.log(`reindex: rebuilding the ${config.search.backend} search index from the ${config.db.dialect} database`);
    const started = Date.now();
    await index.rebuild((message) => console.log(`reindex: ${message}`));
    console.log(`reindex: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await dbh.close();
  }
}

main().catch((err: unknown) => {
  console.error('reindex failed:', err instanceof Error ? err.message : err);
  process.exit(1);
});
