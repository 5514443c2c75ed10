import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import { migrateToLatest } from '../src/db/migrate.js';
import { startEtcd, startRedis } from '../test/setup/services.js';
import { findBinary, freePort, stopProcess } from '../test/setup/processes.js';
import { openBenchDatabase } from './database.js';
import { issueTokens, seedDatabase } from './gateway-seed.js';
import type { DirectResult, OpenResult } from './load-client.js';
import { percentile } from './load-client.js';
import { benchNodeEnv, repoRoot, rssBytes, sleep, startTarget, waitForTimeWait } from './targets.js';
import { killIfAlive, lscpu, Meter, nodeChildren, openFilesLimit, type PhaseCost } from './workers-host.js';
import { printResults, type Step, type WorkersRun } from './workers-report.js';
import { fail, runBench, wholeArg } from './cli.js';

/**
 * One machine, several workers (issue 18): ONE weim process with `server.workers` = W (a supervisor
 * and W node:cluster workers sharing the port, each a cluster node) on a private, durable MariaDB,
 * Redis and etcd; N signed-in sockets held by L load processes (one process holds at most ~19,800
 * sockets here). Measures the workers' RSS per socket, a group message to the last of G members
 * across all load processes (one clock: epoch ms on one machine), and steps the persisted 1:1 rate
 * until p99 > 50 ms or the rate is not kept, with the CPU split per message.
 *
 *   npx tsx bench/workers.ts [--users 50000] [--group 30000] [--workers 3] [--load-processes 4]
 *     [--rates 500,1000,1500,2000,3000,4000,5000,6000,7000] [--duration 10] [--warmup 3] [--repeats 5] [--out file.json]
 */
const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '50000' },
    group: { type: 'string', default: '30000' },
    workers: { type: 'string', default: '3' },
    'load-processes': { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '100' },
    rates: { type: 'string', default: '500,1000,1500,2000,3000,4000,5000,6000,7000' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    repeats: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
  strict: true,
});
const users = whole('users', 4, 200_000);
const groupSize = Math.min(users, whole('group', 2, 200_000));
const workerCount = whole('workers', 2, 16);
const loadCount = whole('load-processes', 1, 32);
const concurrency = whole('concurrency', 1, 1000);
const duration = whole('duration', 1, 120);
const warmup = Number(args.warmup) === 0 ? 0 : whole('warmup', 1, 60);
const repeats = whole('repeats', 1, 50);
const rates = args.rates.split(',').map(Number);
if (rates.some((r) => !Number.isInteger(r) || r < 1)) fail('--rates must be whole numbers separated by commas');
const P99_TARGET_MS = 50;

const log = (line: string) => process.stdout.write(`${line}\n`);
const cleanups: Array<() => Promise<void> | void> = [];

/** A forked load process and its request/reply channel. */
class LoadProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  /** Global socket index of each of this process's sockets (its local index is the position). */
  readonly globals: number[] = [];
  constructor(readonly index: number, readonly child: ChildProcess) {
    child.on('message', (message: unknown) => {
      const reply = message as { id: number; result?: unknown; error?: string };
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) waiting?.reject(new Error(`load ${index}: ${reply.error}`));
      else waiting?.resolve(reply.result);
    });
    // 'close', not 'exit': the channel is read to its end first, so an answer sent just before
    // the process exited (its answer to `close`) is not taken for a crash.
    child.once('close', (code) => {
      for (const w of this.pending.values()) w.reject(new Error(`load ${index} exited with ${code}`));
      this.pending.clear();
    });
  }
  request<T>(op: string, body: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.child.send({ id, op, ...body });
    });
  }
}

async function main(): Promise<void> {
  log(`workers bench: 1 weim process with ${workerCount} workers, ${users} sockets over ${loadCount} load processes, group of ${groupSize}, 1:1 steps ${rates.join(', ')}/s × ${duration} s (warm-up ${warmup} s)`);
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  log(`lscpu: ${lscpu()}`);
  log(`open files (this process): ${openFilesLimit(process.pid)}; ephemeral ports ${readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().replace(/\s+/, '–')}`);
  const tw = await waitForTimeWait(log);
  const loadAtStart = loadavg();
  log(`load average ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, TIME_WAIT ${tw}`);

  const dataDir = mkdtempSync(join(tmpdir(), 'weim-workers-bench-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const bench = await openBenchDatabase('mysql', dataDir, log, { durable: true, bufferPoolSize: '1G' });
  cleanups.push(() => bench.close());
  const flush = (await sql<{ flush: unknown }>`SELECT @@innodb_flush_log_at_trx_commit AS flush`.execute(bench.dbh.db)).rows[0]?.flush;
  log(`MariaDB: innodb_flush_log_at_trx_commit=${String(flush)}`);
  const pids: Record<'mariadbd' | 'redis' | 'etcd', number> = { mariadbd: bench.server!.child.pid!, redis: 0, etcd: 0 };
  const urls: Record<'redis' | 'etcd', string> = { redis: '', etcd: '' };
  for (const [name, binaryName, start] of [['redis', 'redis-server', startRedis], ['etcd', 'etcd', startEtcd]] as const) {
    const binary = findBinary(binaryName) ?? fail(`${binaryName} not found: apt-get install -y redis-server etcd-server`);
    const service = await start(binary);
    cleanups.push(async () => {
      if (service.child) await stopProcess(service.child);
      if (service.dir) rmSync(service.dir, { recursive: true, force: true });
    });
    pids[name] = service.child!.pid!;
    urls[name] = service.url;
  }
  await migrateToLatest(bench.dbh.db, { info: () => {} });
  const t = Date.now();
  const seeded = await seedDatabase(bench.dbh.db, users, Date.now(), groupSize);
  const secret = randomBytes(24).toString('hex');
  const tokens = issueTokens(bench.dbh.db, secret, seeded.userIds);
  log(`seeded ${users} users, ${seeded.pairs.length} friend pairs, group ${seeded.groupId} of ${groupSize}, tokens signed (${Date.now() - t} ms)`);

  const server = await startTarget('weim', 'src/main.ts', await freePort(), {
    ...benchNodeEnv(secret, users),
    WEIM_DB_DIALECT: 'mysql',
    WEIM_DB_URL: bench.url,
    WEIM_CLUSTER_MODE: 'cluster',
    WEIM_CLUSTER_NODE_ID: 'bench',
    WEIM_CLUSTER_REDIS_URL: urls.redis,
    WEIM_CLUSTER_ETCD_HOSTS: urls.etcd,
    WEIM_SERVER_WORKERS: String(workerCount),
  });
  let workerPids: number[] = [];
  cleanups.push(async () => {
    await server.stop();
    // The supervisor stops its workers; one left behind (a supervisor killed) is ended by its pid.
    for (const pid of workerPids) killIfAlive(pid);
  });
  const redis = new Redis(urls.redis);
  cleanups.push(() => redis.disconnect());
  // Ready when every worker process is there and subscribed to its bus channel (node:cluster hands
  // connections only to workers that listen: before that the sockets would not spread evenly).
  const readyBy = Date.now() + 60_000;
  for (;;) {
    workerPids = nodeChildren(server.pid);
    const channels = (await redis.pubsub('CHANNELS', '*:bus:*')) as string[];
    if (workerPids.length === workerCount && channels.length === workerCount) break;
    if (Date.now() > readyBy) throw new Error(`workers not ready: ${workerPids.length} processes, ${channels.length} bus channels`);
    await sleep(200);
  }
  log(`supervisor pid ${server.pid} (open files ${openFilesLimit(server.pid)}), workers ${workerPids.join(', ')} (open files ${workerPids.map(openFilesLimit).join(', ')})`);

  // Pairs (2j, 2j+1) stay in one load process (a 1:1 latency is measured on one clock), and the
  // group's members (the first G users) spread over all of them.
  const loads: LoadProcess[] = [];
  for (let p = 0; p < loadCount; p++) {
    const child = fork(join(repoRoot, 'bench/workers-load.ts'), [], {
      execArgv: ['--import', 'tsx'],
      serialization: 'advanced',
      env: { ...process.env, WEIM_LOAD_INDEX: String(p) },
    });
    cleanups.push(() => stopProcess(child));
    loads.push(new LoadProcess(p, child));
  }
  for (let i = 0; i < users; i++) loads[Math.floor(i / 2) % loadCount]!.globals.push(i);
  const localPairs = loads.map((l) => {
    const pairs: Array<[number, number]> = [];
    for (let k = 0; k + 1 < l.globals.length; k += 2) if (l.globals[k]! % 2 === 0 && l.globals[k + 1] === l.globals[k]! + 1) pairs.push([k, k + 1]);
    return pairs;
  });
  const loadPids = loads.map((l) => l.child.pid!);
  await sleep(1000);
  log(`load processes ${loadPids.join(', ')}: ${loads.map((l) => l.globals.length).join(' + ')} sockets (open files ${openFilesLimit(loadPids[0]!)} each)`);

  const meter = new Meter({ workers: workerPids, supervisor: [server.pid], mariadbd: [pids.mariadbd], redis: [pids.redis], etcd: [pids.etcd], load: loadPids });
  const workersRss = () => workerPids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  await sleep(2000);
  const rssBefore = workersRss();
  const eachBefore = workerPids.map(rssBytes);
  const supervisorRssBefore = rssBytes(server.pid);
  let phase = meter.start();
  const opens = await Promise.all(loads.map((l) => l.request<OpenResult>('open', { url: server.wsUrl, tokens: l.globals.map((g) => tokens[g]!), concurrency, timeoutMs: 600_000 })));
  const open = meter.since(phase);
  const opened = opens.reduce((sum, o) => sum + o.opened, 0);
  const failed = opens.reduce((sum, o) => sum + o.failed, 0);
  log(`${opened} signed in, ${failed} failed in ${open.seconds.toFixed(1)} s: ${Math.round(opened / open.seconds)} sign-ins/s (per load process ${opens.map((o) => o.opened).join(', ')}); ${describe(open)}`);
  phase = meter.start();
  await sleep(5000);
  const idle = meter.since(phase);
  log(`idle with the sockets open: ${describe(idle)}`);
  const rssAfter = workersRss();
  const eachAfter = workerPids.map(rssBytes);
  const fds = workerPids.map((pid) => readdirSync(`/proc/${pid}/fd`).length);
  log(`workers' RSS ${mib(rssBefore)} → ${mib(rssAfter)} MiB: ${((rssAfter - rssBefore) / Math.max(1, opened) / 1024).toFixed(2)} KB per socket (each worker ${eachBefore.map((b, i) => `${mib(b)} → ${mib(eachAfter[i]!)}`).join(', ')} MiB); open files per worker ${fds.join(', ')}; supervisor RSS ${mib(supervisorRssBefore)} → ${mib(rssBytes(server.pid))} MiB`);

  phase = meter.start();
  const fanout = await groupFanout(loads, seeded.groupId);
  const fanoutCost = meter.since(phase);
  log(`group messages: ${describe(fanoutCost)}`);
  await sleep(1000);

  const countFriendMessages = async () => Number((await bench.dbh.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('ope', '=', 0).executeTakeFirstOrThrow()).n);
  const perProcessRate = (rate: number) => rate / loadCount;
  const runDirect = (rate: number, seconds: number) =>
    Promise.all(loads.map((l, p) => l.request<DirectResult>('direct', { pairs: localPairs[p], userIds: l.globals.map((g) => seeded.userIds[g]!), rate: perProcessRate(rate), seconds, quiet: p !== 0 })));
  let ackedTotal = 0;
  if (warmup > 0) {
    const results = await runDirect(rates[0]!, warmup);
    ackedTotal += results.reduce((sum, r) => sum + r.acks, 0);
    const merged = mergeDirect(results);
    log(`warm-up (not measured) at ${rates[0]}/s for ${warmup} s: ${merged.sent} sent, ${merged.delivered} delivered, p99 ${percentile(merged.latencies, 0.99).toFixed(1)} ms`);
    await sleep(1000);
  }
  const steps: Step[] = [];
  for (const rate of rates) {
    log(`\n== 1:1 at ${rate}/s for ${duration} s (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}) ==`);
    const inDbBefore = await countFriendMessages();
    const redisBefore = await redisCalls(redis);
    phase = meter.start();
    const results = await runDirect(rate, duration);
    const cost = meter.since(phase);
    const redisAfter = await redisCalls(redis);
    const merged = mergeDirect(results);
    ackedTotal += merged.acks;
    const step: Step = {
      rate,
      ...merged,
      ackedPerSecond: results.reduce((sum, r) => sum + r.ackedPerSecond, 0),
      p50: percentile(merged.latencies, 0.5),
      p99: percentile(merged.latencies, 0.99),
      max: percentile(merged.latencies, 1),
      persisted: (await countFriendMessages()) - inDbBefore,
      cpuMicros: Object.fromEntries(Object.entries(cost.cpu).map(([k, v]) => [k, (v / Math.max(1, merged.sent)) * 1e6])),
      cost,
      redisPerMessage: Object.fromEntries(Object.entries(redisAfter).map(([k, v]) => [k, (v - (redisBefore[k] ?? 0)) / Math.max(1, merged.sent)]).filter(([, v]) => (v as number) >= 0.01)),
      firstFailure: results.find((r) => r.firstFailure)?.firstFailure,
    };
    step.kept = step.acks === step.sent && step.delivered === step.sent && step.ackedPerSecond >= 0.95 * rate;
    step.met = step.kept && step.p99 <= P99_TARGET_MS;
    steps.push(step);
    log(`  ${step.sent} sent, ${Math.round(step.ackedPerSecond)} acked/s, ${step.delivered} delivered, ${step.failures} refused, ${step.persisted} in the database; p50 ${step.p50.toFixed(1)} ms, p99 ${step.p99.toFixed(1)} ms`);
    log(`  CPU µs a message: ${Object.entries(step.cpuMicros).map(([k, v]) => `${k} ${Math.round(v)}`).join(', ')}; ${describe(cost, false)}`);
    log(`  Redis commands a message: ${Object.entries(step.redisPerMessage).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    if (!step.met) break;
    await sleep(2000);
  }
  const inDatabase = await countFriendMessages();
  const workersAtEnd = nodeChildren(server.pid);
  await Promise.all(loads.map((l) => l.request('close')));
  const run: WorkersRun = {
    users, groupSize, workerCount, loadCount, duration, warmup, flush: String(flush),
    machine: `${cpus()[0]?.model ?? '?'} (${cpus().length} cores)`, loadAtStart, loadAtEnd: loadavg(),
    opened, failed, signInsPerSecond: opened / open.seconds, rssBefore, rssAfter, fds, phases: { open, idle, fanout: fanoutCost },
    fanout, steps, ackedTotal, inDatabase, restarted: workersAtEnd.join() !== workerPids.join(),
  };
  printResults(log, run, P99_TARGET_MS);
  if (args.out) writeFileSync(args.out, JSON.stringify(run, (_k, v: unknown) => (v instanceof Float64Array ? undefined : v), 2));
}

/** Calls so far of each Redis command (INFO commandstats). */
async function redisCalls(redis: Redis): Promise<Record<string, number>> {
  const calls: Record<string, number> = {};
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** `repeats` group messages from user 0; arrivals gathered from every load process on one clock. */
async function groupFanout(loads: LoadProcess[], groupId: number): Promise<WorkersRun['fanout']> {
  const result: WorkersRun['fanout'] = { lastMs: [], medianMs: [], missing: [] };
  const members = loads.map((l) => l.globals.flatMap((g, k) => (g > 0 && g < groupSize ? [k] : [])));
  for (let r = 0; r < repeats; r++) {
    await Promise.all(loads.map((l, p) => l.request('watch', { cmd: 10, indexes: members[p], timeoutMs: 20_000 })));
    const text = JSON.stringify({ Cmd: 17, ToId: groupId, Ope: 1, Type: 0, Body: `group fan-out ${r + 1}`, ClientMsgId: `g-${Date.now()}-${r}` });
    const { at } = await loads[0]!.request<{ at: number }>('send', { index: 0, text });
    const arrivals = await Promise.all(loads.map((l) => l.request<{ arrivals: Float64Array }>('collect')));
    const times = arrivals.flatMap((a) => Array.from(a.arrivals).filter((x) => x >= 0).map((x) => x - at)).sort((a, b) => a - b);
    const expected = groupSize - 1;
    result.lastMs.push(times.at(-1) ?? Number.NaN);
    result.medianMs.push(percentile(times, 0.5));
    result.missing.push(expected - times.length);
    log(`group message ${r + 1}/${repeats}: last of ${times.length}/${expected} members after ${result.lastMs.at(-1)!.toFixed(1)} ms (first ${(times[0] ?? Number.NaN).toFixed(1)}, 10th percentile ${percentile(times, 0.1).toFixed(1)}, median ${result.medianMs.at(-1)!.toFixed(1)} ms)`);
    await sleep(1000);
  }
  return result;
}

function mergeDirect(results: DirectResult[]): { sent: number; acks: number; delivered: number; failures: number; latencies: Float64Array } {
  const sum = (key: 'sent' | 'acks' | 'delivered' | 'failures') => results.reduce((s, r) => s + r[key], 0);
  const latencies = new Float64Array(results.reduce((s, r) => s + r.latencies.length, 0));
  let offset = 0;
  for (const r of results) {
    latencies.set(r.latencies, offset);
    offset += r.latencies.length;
  }
  return { sent: sum('sent'), acks: sum('acks'), delivered: sum('delivered'), failures: sum('failures'), latencies: latencies.sort() };
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** A phase's CPU in cores per part (or not), the machine's busy share and what others used. */
function describe(cost: PhaseCost, cores = true): string {
  const parts = cores ? `CPU in cores: ${Object.entries(cost.cpu).map(([k, v]) => `${k} ${(v / cost.seconds).toFixed(2)}`).join(', ')}; ` : '';
  return `${parts}machine busy ${cost.busyPercent.toFixed(0)}% (others ${cost.otherCores.toFixed(2)} cores), steal ${cost.steal.toFixed(1)}%`;
}

function whole(name: 'users' | 'group' | 'workers' | 'load-processes' | 'concurrency' | 'duration' | 'warmup' | 'repeats', min: number, max: number): number {
  return wholeArg(args[name], name, min, max);
}

runBench('workers', main, cleanups);
