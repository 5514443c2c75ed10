import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { startTestNode } from '../test/helpers/node.js';
import { fuzzTargets, visible } from '../test/fuzz/run.js';
import { buildWorld, FUZZ_NODE_ENV } from '../test/fuzz/world.js';
import { type BenchDialect, openBenchDatabase } from './database.js';

/**
 * The input property suite (test/input.property.test.ts, docs/testing.md) with many more runs and
 * any seed: every route of docs/api.md and every client Cmd of docs/protocol.md gets generated
 * wrong requests, each of which must be refused with a 4xx envelope (sockets: Cmd 2 or a
 * documented close), leak nothing and change no stored row or file. Prints progress; on a failure,
 * the counterexample and the command that replays it. Exits 1 if anything failed.
 *
 *   npm run bench:fuzz -- [--runs 2000] [--seed S] [--dialect sqlite|mysql] [--only <text in a target's name>]
 *                         [--path <fast-check path, with --seed and --only to replay one failure>]
 *
 * MySQL: a new database on WEIM_DB_URL (admin URL), else on a private mariadbd started for the run.
 */
const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    dialect: { type: 'string', default: 'sqlite' },
    only: { type: 'string' },
    path: { type: 'string' },
  },
  strict: true,
});
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  const runs = Number(args.runs);
  if (!Number.isSafeInteger(runs) || runs < 1) throw new Error('--runs must be a positive integer');
  const seed = args.seed !== undefined ? Number(args.seed) : (Date.now() ^ Math.floor(Math.random() * 2 ** 31)) | 0;
  if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
  const dialect = args.dialect as BenchDialect;
  if (dialect !== 'sqlite' && dialect !== 'mysql') throw new Error('--dialect must be sqlite or mysql');

  const scratch = mkdtempSync(join(tmpdir(), 'weim-fuzz-'));
  const database = dialect === 'mysql' ? await openBenchDatabase('mysql', scratch, log) : undefined;
  const dbh = database?.dbh ?? openDatabase({ dialect: 'sqlite', location: ':memory:' });
  await migrateToLatest(dbh.db, { info: () => {} });
  const node = await startTestNode(dialect, FUZZ_NODE_ENV, { database: dbh });
  let done = 0;
  let lastPrint = Date.now();
  const targets = fuzzTargets(await buildWorld(node), (name) => {
    done++;
    if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      log(`    … ${name}: ${done} runs`);
    }
  });
  // --only names one target exactly, or else every target whose name contains it.
  const exact = targets.list.filter((t) => t.name === args.only);
  const chosen = exact.length > 0 ? exact : targets.list.filter((t) => !args.only || t.name.includes(args.only));
  log(`input fuzz: ${chosen.length} targets × ${runs} runs on ${dialect}, seed ${seed}`);
  const failures: string[] = [];
  const started = Date.now();
  try {
    for (const [i, target] of chosen.entries()) {
      done = 0;
      const t0 = Date.now();
      const details = await fc.check(target.property, { seed, numRuns: runs, ...(args.path ? { path: args.path } : {}) });
      const took = `${((Date.now() - t0) / 1000).toFixed(1)} s`;
      if (!details.failed) {
        log(`[${i + 1}/${chosen.length}] ok    ${target.name}: ${details.numRuns} runs, ${took}`);
        continue;
      }
      failures.push(target.name);
      log(`[${i + 1}/${chosen.length}] FAIL  ${target.name} after ${details.numRuns} runs (${took})`);
      log(`  error: ${(details.errorInstance as Error | undefined)?.message ?? String(details.errorInstance)}`);
      log(`  counterexample: ${visible(fc.stringify(details.counterexample)).slice(0, 4000)}`);
      log(`  replay: npm run bench:fuzz -- --dialect ${dialect} --seed ${details.seed} --only '${target.name}' --path '${details.counterexamplePath}' --runs ${runs}`);
    }
  } finally {
    targets.close();
    await node.stop();
    await (database ? database.close() : dbh.close());
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`${failures.length === 0 ? 'PASS' : `FAIL (${failures.join(', ')})`}: seed ${seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`bench:fuzz failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
