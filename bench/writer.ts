/**
 * The message writer alone on SQLite (not a test): stores `--batches` batches of `--batch`
 * friend messages between random pairs of 5,000 conversations, one batch at a time, in a fresh
 * database file, and prints the event loop's time per message and the batch durations. It is the
 * SQLite part of the gateway's 1:1 cost without sockets, and far steadier between runs than the
 * gateway bench.
 *
 *   npx tsx bench/writer.ts [--batch 18] [--batches 3000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { MessageWriter } from '../src/modules/messages/message-writer.js';
import { percentile } from './database.js';
import { random } from './seed.js';

const { values: args } = parseArgs({ options: { batch: { type: 'string', default: '18' }, batches: { type: 'string', default: '3000' } } });
const size = Math.max(1, Math.min(500, Number(args.batch)));
const count = Math.max(1, Math.min(100_000, Number(args.batches)));
const dir = mkdtempSync(join(tmpdir(), 'weim-writer-'));
const dbh = openDatabase({ dialect: 'sqlite', location: join(dir, 'weim.sqlite') });
try {
  await migrateToLatest(dbh.db, { info: () => {} });
  const durations: number[] = [];
  const writer = new MessageWriter(dbh.db, { onBatch: (_n, seconds) => durations.push(seconds * 1000) });
  const rnd = random(1);
  const started = performance.now();
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
  durations.sort((x, y) => x - y);
  console.log(`${count} batches of ${size}: ${((elapsed * 1000) / (count * size)).toFixed(1)} µs a message; batch p50 ${percentile(durations, 50).toFixed(2)} ms, p99 ${percentile(durations, 99).toFixed(2)} ms, max ${durations.at(-1)!.toFixed(2)} ms`);
} finally {
  await dbh.close();
  rmSync(dir, { recursive: true, force: true });
}
