/**
 * The main SQLite connection under a crowd (not a test): n selects issued in the same turn, as
 * when thousands of sockets close at once and each one's presence change reads the database.
 * Kysely's own driver took quadratic time here (see src/db/sqlite-fair-driver.ts).
 *
 *   npx tsx bench/sqlite-queue.ts [--counts 1000,3000,10000,30000]
 */
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { openDatabase } from '../src/db/connect.js';

const { values: args } = parseArgs({ options: { counts: { type: 'string', default: '1000,3000,10000,30000' } } });
const counts = args.counts.split(',').map((c) => Math.min(100_000, Math.max(1, Number(c))));
const dbh = openDatabase({ dialect: 'sqlite', location: ':memory:' });
for (const n of counts) {
  const started = performance.now();
  await Promise.all(Array.from({ length: n }, (_, i) => sql`select ${i} as x`.execute(dbh.db)));
  console.log(`[sqlite-queue] ${n} selects issued together: ${(performance.now() - started).toFixed(0)} ms`);
}
await dbh.close();
