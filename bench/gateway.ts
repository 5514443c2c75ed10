import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createConnection } from 'mysql2/promise';
import { openDatabase, type DbHandle } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { startMariadb } from '../test/setup/mariadb.js';
import { findBinary, freePort, stopProcess } from '../test/setup/processes.js';
import { LoadClient, percentile } from './load-client.js';
import { printReport, type TargetResult } from './report.js';
import { issueTokens, seedDatabase } from './gateway-seed.js';
import { benchNodeEnv, cpuSeconds, cpuTicks, stealPercent, rssBytes, sleep, startTarget, type Target, waitForTimeWait } from './targets.js';
import { fail, runBench, wholeArg } from './cli.js';

/**
 * Gateway benchmark (issue 4). Seeds N users, friend pairs and one N-member group, runs weim as a
 * child process, opens N signed-in sockets from this process and measures sign-in rate, server
 * RSS per idle socket, group fan-out to N members and sustained 1:1 messages; with --baseline the
 * same load runs against a bare `ws` server in the same run and every figure gets a ratio.
 *
 *   npx tsx bench/gateway.ts [--sockets 10000] [--dialect sqlite|mysql] [--rate 5000] [--duration 10] [--warmup 0] [--baseline]
 */
const { values: args } = parseArgs({
  options: {
    sockets: { type: 'string', default: '10000' },
    dialect: { type: 'string', default: 'sqlite' },
    rate: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '10' },
    baseline: { type: 'boolean', default: false },
    repeats: { type: 'string', default: '5' },
    /**
     * Seconds of 1:1 load at the same rate before the measured phase (0: none). They fill the
     * friendship cache and create the pairs' conversations, as a node that has been serving does;
     * the measured phase then shows the steady state, and the warm-up's own figures are printed.
     */
    warmup: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '300' },
    /** MariaDB only: innodb_flush_log_at_trx_commit=2 instead of the durable 1 (reported). */
    'relaxed-flush': { type: 'boolean', default: false },
    /** Write the results as JSON to this file too. */
    out: { type: 'string' },
  },
  strict: true,
});
const sockets = positive('sockets', 2, 18_000);
const rate = positive('rate', 1, 100_000);
const duration = positive('duration', 1, 600);
const repeats = positive('repeats', 1, 50);
const warmup = args.warmup === '0' ? 0 : positive('warmup', 1, 60);
const concurrency = positive('concurrency', 1, 2000);
const dialect = args.dialect === 'mysql' ? 'mysql' : args.dialect === 'sqlite' ? 'sqlite' : fail(`--dialect must be sqlite or mysql, not ${args.dialect}`);

const log = (line: string) => process.stdout.write(`${line}\n`);
const cleanups: Array<() => Promise<void> | void> = [];

async function main(): Promise<void> {
  log(`gateway bench: ${sockets} sockets, ${dialect}, 1:1 at ${rate}/s for ${duration} s, ${repeats} group messages${args.baseline ? ', with baseline' : ''}`);
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  const secret = randomBytes(24).toString('hex');
  const { dbh, serverEnv, flush, databasePid } = await openBenchDatabase();
  cleanups.push(() => dbh.close());
  await migrateToLatest(dbh.db, { info: () => {} });
  const t = Date.now();
  const seeded = await seedDatabase(dbh.db, sockets);
  const tokens = issueTokens(dbh.db, secret, seeded.userIds);
  log(`seeded ${sockets} users, ${seeded.pairs.length} friend pairs, group ${seeded.groupId} with ${sockets} members, tokens signed (${Date.now() - t} ms)`);

  const weimEnv = { ...serverEnv, ...benchNodeEnv(secret, sockets) };
  const results: TargetResult[] = [];
  const plan: Array<[Target['name'], string, Record<string, string>]> = [['weim', 'src/main.ts', weimEnv]];
  if (args.baseline) plan.push(['baseline', 'bench/baseline-server.ts', {}]);
  for (const [name, script, env] of plan) {
    log(`\n== ${name} ==`);
    const tw = await waitForTimeWait(log);
    log(`  load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (the machine is shared: other work skews figures)`);
    const target = await startTarget(name, script, await freePort(), env);
    cleanups.push(() => target.stop());
    await sleep(2000);
    const rssBefore = rssBytes(target.pid);
    const client = new LoadClient(log);
    const open = await client.openAll(target.wsUrl, tokens, concurrency);
    log(`  ${open.opened} signed in, ${open.failed} failed in ${open.seconds.toFixed(2)} s: ${Math.round(open.perSecond)} sign-ins/s (TIME_WAIT at start: ${tw})`);
    await sleep(5000);
    const rssAfter = rssBytes(target.pid);
    log(`  RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB → ${(rssAfter / 2 ** 20).toFixed(1)} MiB: ${((rssAfter - rssBefore) / open.opened / 1024).toFixed(2)} KB per socket`);
    const fanout = await client.groupFanout(0, seeded.groupId, repeats, 1000);
    await sleep(1000);
    const warmedUp = warmup > 0 ? await client.direct(seeded.pairs, seeded.userIds, rate, warmup) : undefined;
    if (warmedUp) {
      const at = (q: number) => percentile(warmedUp.latencies, q).toFixed(1);
      log(`  warm-up (not measured): ${warmedUp.sent} sent in ${warmup} s, ${warmedUp.delivered} delivered, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
      await sleep(1000);
    }
    const cpuBefore = cpuSeconds(target.pid);
    const databaseBefore = databasePid && name === 'weim' ? cpuSeconds(databasePid) : undefined;
    const clientBefore = process.cpuUsage();
    const machineBefore = cpuTicks();
    const direct = await client.direct(seeded.pairs, seeded.userIds, rate, duration);
    const directCpuSeconds = cpuSeconds(target.pid) - cpuBefore;
    const perMessage = (seconds: number) => `${Math.round((seconds / Math.max(1, direct.sent)) * 1e6)} µs`;
    const clientCpu = process.cpuUsage(clientBefore);
    log(`  CPU per 1:1 message: server ${perMessage(directCpuSeconds)}, load client ${perMessage((clientCpu.user + clientCpu.system) / 1e6)}${databaseBefore === undefined ? '' : `, mariadbd ${perMessage(cpuSeconds(databasePid!) - databaseBefore)}`}`);
    log(`  CPU stolen by the host during the 1:1 phase: ${stealPercent(machineBefore).toFixed(1)}% of the machine`);
    const persisted = name === 'weim' ? (await countFriendMessages(dbh)) - (warmedUp?.delivered ?? 0) : undefined;
    if (name === 'weim') log(await writerBatches(target.wsUrl));
    await client.closeAll();
    await target.stop();
    results.push({ name, open, rssBefore, rssAfter, fanout, direct, directCpuSeconds, persisted });
  }
  printReport(log, { sockets, rate, duration, warmup, dialect, flush, results });
  if (args.out) writeFileSync(args.out, JSON.stringify({ sockets, rate, duration, warmup, dialect, flush, results }, (_k, v: unknown) => (v instanceof Float64Array ? undefined : v), 2));
}

/** A fresh database for the run: a temp SQLite file, or a new schema on a private (or given) MariaDB. */
async function openBenchDatabase(): Promise<{ dbh: DbHandle; serverEnv: Record<string, string>; flush: string | undefined; databasePid?: number }> {
  if (dialect === 'sqlite') {
    const dataDir = mkdtempSync(join(tmpdir(), 'weim-bench-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    return { dbh: openDatabase({ dialect, location: join(dataDir, 'weim.sqlite') }), serverEnv: { WEIM_DATA_DIR: dataDir, WEIM_DB_DIALECT: 'sqlite' }, flush: undefined };
  }
  let adminUrl = process.env.WEIM_BENCH_MYSQL_URL;
  let databasePid: number | undefined;
  if (!adminUrl) {
    const binary = findBinary('mariadbd') ?? fail('mariadbd not found: apt-get install -y mariadb-server, or set WEIM_BENCH_MYSQL_URL');
    const mariadb = await startMariadb(binary, { durable: !args['relaxed-flush'], bufferPoolSize: '1G' });
    cleanups.push(async () => {
      await stopProcess(mariadb.child);
      rmSync(mariadb.dir, { recursive: true, force: true });
    });
    adminUrl = mariadb.url;
    databasePid = mariadb.child.pid;
  }
  const name = `weim_bench_${randomBytes(4).toString('hex')}`;
  const admin = await createConnection({ uri: adminUrl });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  const [rows] = await admin.query('SELECT @@innodb_flush_log_at_trx_commit AS flush');
  await admin.end();
  cleanups.push(async () => {
    const cleanup = await createConnection({ uri: adminUrl });
    await cleanup.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await cleanup.end();
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const flush = String((rows as Array<{ flush: unknown }>)[0]?.flush);
  log(`MariaDB ${url.host}, database ${name}, innodb_flush_log_at_trx_commit=${flush}`);
  return { dbh: openDatabase({ dialect, location: url.toString(), poolSize: 4 }), serverEnv: { WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: url.toString() }, flush, databasePid };
}

/** WEIM_BENCH_SERVER_ENV="K=V K=V": extra settings for the weim server (experiments). */
async function countFriendMessages(dbh: DbHandle): Promise<number> {
  const row = await dbh.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('ope', '=', 0).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The message writer's batches so far, from the node's /metrics (mean size and transaction time). */
async function writerBatches(wsUrl: string): Promise<string> {
  const text = await (await fetch(wsUrl.replace(/^ws/, 'http').replace(/\/ws$/, '/metrics'))).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const batches = value('weim_message_batch_size_count');
  const meanSize = value('weim_message_batch_size_sum') / batches;
  const meanMs = (1000 * value('weim_message_batch_duration_seconds_sum')) / value('weim_message_batch_duration_seconds_count');
  const within = (le: string) => Number(new RegExp(`^weim_message_batch_duration_seconds_bucket\\{le="${le}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const slow = (le: string) => `${((100 * (batches - within(le))) / batches).toFixed(1)}% over ${Number(le) * 1000} ms`;
  return `  writer: ${batches} batches, mean ${meanSize.toFixed(1)} messages and ${meanMs.toFixed(1)} ms a batch; ${slow('0.025')}, ${slow('0.1')}`;
}

function positive(name: 'sockets' | 'rate' | 'duration' | 'repeats' | 'concurrency' | 'warmup', min: number, max: number): number {
  return wholeArg(args[name], name, min, max);
}

runBench('gateway', main, cleanups);
