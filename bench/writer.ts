/**
 * The message writer alone (not a test): stores `--batches` batches of `--batch` friend messages
 * between random pairs of 5,000 conversations, one batch at a time, in a fresh SQLite file or a
 * new database on a private, durable MariaDB (innodb_flush_log_at_trx_commit=1, the writer on its
 * autocommit-off session as a node runs it), and prints the wall time and CPU per message (this
 * process, and mariadbd) and the batch durations. It is the database part of the gateway's 1:1
 * cost without sockets, and far steadier between runs than the gateway bench.
 *
 *   npx tsx bench/writer.ts [--dialect sqlite|mysql] [--batch 18] [--batches 3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateToLatest } from '../src/db/migrate.js';
import { MessageWriter } from '../src/modules/messages/message-writer.js';
import { openBenchDatabase, percentile } from './database.js';
import { random } from './seed.js';
import { cpuSeconds } from './targets.js';

const { values: args } = parseArgs({
  options: { dialect: { type: 'string', default: 'sqlite' }, batch: { type: 'string', default: '18' }, batches: { type: 'string', default: '3000' } },
});
const size = Math.max(1, Math.min(500, Number(args.batch)));
const count = Math.max(1, Math.min(100_000, Number(args.batches)));
if (args.dialect !== 'sqlite' && args.dialect !== 'mysql') throw new Error(`--dialect must be sqlite or mysql, not ${args.dialect}`);
const dataDir = mkdtempSync(join(tmpdir(), 'weim-writer-'));
const bench = await openBenchDatabase(args.dialect, dataDir, (line) => console.log(line), { durable: true, bufferPoolSize: '1G' });
const { dbh } = bench;
// MySQL: the writer on its autocommit-off session, as a node runs it.
const session = dbh.openManualCommit?.();
const databasePid = bench.server?.child.pid;
try {
  await migrateToLatest(dbh.db, { info: () => {} });
  const durations: number[] = [];
  const writer = new MessageWriter(dbh.db, { onBatch: (_n, seconds) => durations.push(seconds * 1000), session: session?.db });
  const rnd = random(1);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const databaseBefore = databasePid ? cpuSeconds(databasePid) : 0;
  for (let b = 0; b < count; b++) {
    const writes = Array.from({ length: size }, (_, i) => {
      const lo = 1 + Math.floor(rnd() * 5000) * 2;
      return writer.write({
        convKey: `f:${lo}:${lo + 1}`, kind: 0, userLo: lo, userHi: lo + 1, groupId: null, senderId: lo, toId: lo + 1,
        type: 0, body: `hello, message ${b}.${i}`, clientMsgId: `m${b}-${i}`,
      });
    });
    await Promise.all(writes);
    if ((b + 1) % 1000 === 0) console.log(`  ${b + 1}/${count} batches`);
  }
  const elapsed = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const perMessage = (ms: number) => `${((ms * 1000) / (count * size)).toFixed(1)} µs`;
  durations.sort((x, y) => x - y);
  const database = databasePid ? `, mariadbd CPU ${perMessage((cpuSeconds(databasePid) - databaseBefore) * 1000)}` : '';
  console.log(
    `${args.dialect}: ${count} batches of ${size}: ${perMessage(elapsed)} a message (wall), this process's CPU ${perMessage((cpu.user + cpu.system) / 1000)}${database}; ` +
      `batch p50 ${percentile(durations, 50).toFixed(2)} ms, p99 ${percentile(durations, 99).toFixed(2)} ms, max ${durations.at(-1)!.toFixed(2)} ms`,
  );
} finally {
  await session?.close();
  await bench.close();
  rmSync(dataDir, { recursive: true, force: true });
}
