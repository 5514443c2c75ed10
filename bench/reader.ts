/**
 * SQLite reader-thread benchmark (not a test): 50 queries in flight through `SqliteReader` on a
 * 100,000-row table, closed loop, reporting wall time and this process's CPU (both threads) per
 * query. What it measures is the cost of handing queries to the thread and back.
 *
 *   npx tsx bench/reader.ts [--queries 50000] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { SqliteReader } from '../src/db/sqlite-reader.js';

const { values: args } = parseArgs({ options: { queries: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '3' } } });
const total = Math.min(1_000_000, Number(args.queries));
const rounds = Math.min(20, Number(args.rounds));

const dir = mkdtempSync(join(tmpdir(), 'weim-reader-bench-'));
const file = join(dir, 'r.sqlite');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.exec('create table t (id integer primary key, name text)');
const insert = db.prepare('insert into t (name) values (?)');
db.transaction(() => {
  for (let i = 0; i < 100_000; i++) insert.run(`name${i}`);
})();
const reader = new SqliteReader(file);

async function round(): Promise<{ wallUs: string; processCpuUs: string }> {
  let started = 0;
  const client = async (): Promise<void> => {
    while (started < total) {
      started++;
      await reader.query('select id, name from t where id >= ? limit 20', [1 + Math.floor(Math.random() * 99_980)]);
      // As a request does: the next query comes from another callback, not the same microtask.
      await new Promise((r) => setImmediate(r));
    }
  };
  const cpu = process.cpuUsage();
  const wall = performance.now();
  await Promise.all(Array.from({ length: 50 }, client));
  const used = process.cpuUsage(cpu);
  return { wallUs: (((performance.now() - wall) * 1000) / total).toFixed(1), processCpuUs: ((used.user + used.system) / total).toFixed(1) };
}

try {
  await reader.query('select 1', []);
  for (let i = 1; i <= rounds; i++) console.log(`[bench reader] round ${i}/${rounds}: ${JSON.stringify(await round())}`);
} finally {
  await reader.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
