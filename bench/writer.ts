/**
 * The message writer alone (not a test): stores `--batches` batches of `--batch` friend messages
 * between random pairs of 5,000 conversations (the pairs seeded as friends: the writer checks),
 * one batch at a time, in a fresh SQLite file or a new database on a private, durable MariaDB
 * (innodb_flush_log_at_trx_commit=1, the writer on its autocommit-off session as a node runs it),
 * and prints the wall time and CPU per message (this process, and mariadbd) and the batch
 * durations. It is the database part of the gateway's 1:1 cost without sockets, and far steadier
 * between runs than the gateway bench. Before it measures, one message goes to each pair (not
 * measured): as on a node that has been serving, the writer has seen the conversations stored (a
 * pair's first message also checks their friendship).
 *
 *   npx tsx bench/writer.ts [--dialect sqlite|mysql] [--batch 18] [--batches 3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateToLatest } from '../src/db/migrate.js';
import { MessageWriter, type PendingMessage } from '../src/modules/messages/message-writer.js';
import { friendConversationKey } from '../src/modules/conversations/index.js';
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
  // Pairs (1, 2), (3, 4) … (9999, 10000) are friends: one row each way.
  const friendRows = Array.from({ length: 5000 }, (_, k) => [
    { user_id: 1 + 2 * k, friend_id: 2 + 2 * k, created_at: 1 },
    { user_id: 2 + 2 * k, friend_id: 1 + 2 * k, created_at: 1 },
  ]).flat();
  for (let at = 0; at < friendRows.length; at += 2000) await dbh.db.insertInto('friends').values(friendRows.slice(at, at + 2000)).execute();
  const durations: number[] = [];
  const writer = new MessageWriter(dbh.db, { onBatch: (_n, seconds) => durations.push(seconds * 1000), session: session?.db });
  for (let at = 0; at < 5000; at += size) {
    await Promise.all(Array.from({ length: Math.min(size, 5000 - at) }, (_, i) => {
      const lo = 1 + (at + i) * 2;
      return writer.write(message(lo, 'warm-up', `w${lo}`));
    }));
  }
  durations.length = 0;
  const rnd = random(1);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const databaseBefore = databasePid ? cpuSeconds(databasePid) : 0;
  for (let b = 0; b < count; b++) {
    const writes = Array.from({ length: size }, (_, i) => {
      const lo = 1 + Math.floor(rnd() * 5000) * 2;
      return writer.write(message(lo, `hello, message ${b}.${i}`, `m${b}-${i}`));
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

/** A text message from `lo` to `lo + 1`, one of the seeded friend pairs. */
function message(lo: number, body: string, clientMsgId: string): PendingMessage {
  return { convKey: friendConversationKey(lo, lo + 1), kind: 0, userLo: lo, userHi: lo + 1, groupId: null, senderId: lo, toId: lo + 1, type: 0, body, clientMsgId, replyTo: null, mentions: null };
}
