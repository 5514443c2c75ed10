/**
 * Search and nearby-people benchmark (not a test). Seeds 100,000 users straight into the database
 * (batched inserts, then the SQL index's rebuild), starts a node on 127.0.0.1, and drives 50
 * concurrent keep-alive clients (on a worker thread) at /im/friend/search and then /geo/users for
 * a fixed time each, printing p50/p95/p99 and requests per second. Loopback only; bounded in
 * count and time.
 *
 *   npx tsx bench/search.ts --dialect sqlite|mysql [--users 100000] [--seconds 20] [--concurrency 50] [--ceiling] [--routes search,nearby] [--client autocannon|wrk]
 *
 * --ceiling first drives, the same way, a bare node:http server and an Express app with weim's
 * body reader and envelope and no work (bench/http-ceiling.ts): the most this machine's HTTP stack
 * gives in this run, to read the routes' figures against.
 *
 * --client wrk drives the load with wrk (Debian's `wrk` package; bench/wrk-post.lua) instead of
 * autocannon on a worker thread: the same closed loop of `concurrency` keep-alive connections, at a
 * small part of the CPU a request, which on a 2-core machine the server otherwise shares with its
 * load. Its own CPU a request is reported as clientCpuUs.
 *
 * MariaDB: uses WEIM_DB_URL when set, else starts a private mariadbd like the test rig does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { createNode } from '../src/node.js';
import { SqlSearchIndex } from '../src/search/search-index.sql.js';
import { openBenchDatabase, percentile } from './database.js';
import { CITIES, random, seedUsers } from './seed.js';
import { startCeilingServers } from './http-ceiling.js';
import { runWrk, type WrkResult } from './wrk.js';
import { cpuSeconds, cpuTicks, stealPercent } from './targets.js';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    users: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '50' },
    ceiling: { type: 'boolean', default: false },
    /** Which routes to drive: search, nearby or both (comma-separated). */
    routes: { type: 'string', default: 'search,nearby' },
    /** Load client: autocannon on a worker thread of this process, or wrk in its own process. */
    client: { type: 'string', default: 'autocannon' },
  },
});
const dialect = args.dialect === 'mysql' ? 'mysql' : 'sqlite';
const userCount = Math.min(1_000_000, Number(args.users));
const seconds = Math.min(120, Number(args.seconds));
const concurrency = Math.min(500, Number(args.concurrency));
const routes = new Set(args.routes.split(',').map((r) => r.trim()));
const client = args.client === 'wrk' ? 'wrk' : 'autocannon';
const log = (msg: string) => console.log(`[bench ${dialect}] ${msg}`);

/**
 * Drives one route. Besides latency, reports the CPU it cost per request: this process's main
 * thread (the node under test; the load client runs on a worker thread) and, on MySQL, the
 * private mariadbd. On a shared 2-core machine these vary far less between runs than req/s.
 */
async function drive(origin: string, path: string, bodies: string[], tokens: string[], runSeconds: number, databasePid?: number) {
  const before = { node: cpuSeconds(process.pid, process.pid), process: process.cpuUsage(), db: databasePid ? cpuSeconds(databasePid) : 0, machine: cpuTicks() };
  const run: Omit<WrkResult, 'cpuSeconds'> & { cpuSeconds?: number } =
    client === 'wrk' ? await runWrk({ origin, path, bodies, tokens, concurrency, seconds: runSeconds }) : await runAutocannon(origin, path, bodies, tokens, runSeconds);
  const perRequest = (seconds: number) => Math.round((seconds * 1e6) / Math.max(1, run.requests));
  // Every thread of this process: the event loop, SQLite's reader threads, and autocannon's load client.
  const used = process.cpuUsage(before.process);
  return {
    requests: run.requests,
    failures: run.failures,
    rps: Math.round(run.requests / runSeconds),
    p50: run.p50.toFixed(1),
    p95: run.p95.toFixed(1),
    p99: run.p99.toFixed(1),
    nodeCpuUs: perRequest(cpuSeconds(process.pid, process.pid) - before.node),
    processCpuUs: perRequest((used.user + used.system) / 1e6),
    // wrk's own CPU (autocannon's is in processCpuUs).
    ...(run.cpuSeconds !== undefined ? { clientCpuUs: perRequest(run.cpuSeconds) } : {}),
    ...(databasePid ? { mariadbCpuUs: perRequest(cpuSeconds(databasePid) - before.db) } : {}),
    stealPct: Number(stealPercent(before.machine).toFixed(1)),
  };
}

/** The autocannon load client on a worker thread (bench/load-worker.mjs): counts and latency percentiles, ms. */
async function runAutocannon(origin: string, path: string, bodies: string[], tokens: string[], runSeconds: number) {
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), {
    workerData: { origin, path, bodies, tokens, concurrency, seconds: runSeconds },
  });
  const result = await new Promise<{ latencies: number[]; failures: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const sorted = result.latencies.sort((a, b) => a - b);
  return { requests: sorted.length, failures: result.failures, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-bench-'));
  const bench = await openBenchDatabase(dialect, dataDir, log);
  const { dbh, url } = bench;
  const databasePid = bench.server?.child?.pid;
  try {
    await migrateToLatest(dbh.db, { info: () => {} });
    let started = Date.now();
    const people = await seedUsers(dbh.db, userCount, (done) => {
      if (done % 20_000 === 0 || done === userCount) log(`seeded ${done}/${userCount} users`);
    });
    log(`seeding took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    started = Date.now();
    await new SqlSearchIndex(dbh.db).rebuild((message) => {
      if (/ (\d*0000|\d+)\/\1$|0000\//.test(message)) log(message);
    });
    log(`index rebuild took ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const config = loadConfig({ WEIM_DATA_DIR: dataDir, WEIM_LOG_LEVEL: 'silent', WEIM_DB_DIALECT: dialect, WEIM_DB_URL: url }, dataDir);
    const node = await createNode(config, pino({ level: 'silent' }), { database: dbh });
    const origin = await node.listen(0, '127.0.0.1');
    const tokens = Array.from({ length: 200 }, (_, i) => node.services.tokens.issue(1 + i * Math.floor(userCount / 200)));

    const rnd = random(7);
    const words = Array.from({ length: 5000 }, () => {
      const person = people[Math.floor(rnd() * people.length)]!;
      const source = [...(rnd() < 0.5 ? person.nickname : person.username)];
      const length = Math.min(source.length, 2 + Math.floor(rnd() * 3));
      const at = Math.floor(rnd() * (source.length - length + 1));
      return JSON.stringify({ word: source.slice(at, at + length).join('') });
    }).filter((body) => JSON.parse(body).word.trim().length >= 2);
    const places = Array.from({ length: 5000 }, () => {
      const city = CITIES[Math.floor(rnd() * CITIES.length)]!;
      return JSON.stringify({ latitude: city.latitude + (rnd() - 0.5) * 0.4, longitude: city.longitude + (rnd() - 0.5) * 0.4 });
    });

    if (args.ceiling) {
      const ceiling = await startCeilingServers();
      for (const [name, url] of [['bare node:http', ceiling.bare], ['express, no work', ceiling.express]] as const) {
        await drive(url, '/ceiling', words, tokens, 2);
        log(`ceiling, ${name}: ${JSON.stringify(await drive(url, '/ceiling', words, tokens, seconds))}`);
      }
      await ceiling.close();
    }
    if (process.env.BENCH_BASELINE) {
      const info = await drive(origin, '/api/v1/user/info', ['{}'], tokens, seconds);
      log(`/user/info (baseline): ${JSON.stringify(info)}`);
    }
    log(`warming up, then ${seconds} s per route at ${concurrency} concurrent clients`);
    if (routes.has('search')) {
      await drive(origin, '/api/v1/im/friend/search', words, tokens, 2);
      const search = await drive(origin, '/api/v1/im/friend/search', words, tokens, seconds, databasePid);
      log(`/im/friend/search: ${JSON.stringify(search)}`);
    }
    if (routes.has('nearby')) {
      await drive(origin, '/api/v1/geo/users', places, tokens, 2);
      const nearby = await drive(origin, '/api/v1/geo/users', places, tokens, seconds, databasePid);
      log(`/geo/users:        ${JSON.stringify(nearby)}`);
    }
    await node.stop();
  } finally {
    await bench.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
