import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { migrateToLatest } from '../src/db/migrate.js';
import { startEtcd, startRedis, type Started } from '../test/setup/services.js';
import { findBinary, freePort, stopProcess } from '../test/setup/processes.js';
import { openBenchDatabase } from './database.js';
import { issueTokens, seedDatabase } from './gateway-seed.js';
import { type MessageFigures, messageFigures, type RestartFigures, restartFigures, type RestartTimes, type Scrape } from './rolling-check.js';
import type { DeviceLog } from './rolling-device.js';
import type { FromLoad, ToLoad } from './rolling-load.js';
import { benchNodeEnv, benchServerFlags, cpuSeconds, repoRoot, sleep, weimNodeArgs } from './targets.js';

/**
 * Rolling restart of a 3-node cluster under load (issue 18): N signed-in sockets spread evenly over
 * the nodes (held by forked load processes, ≤ 15,000 each), steady 1:1 traffic between friends on
 * different nodes, then each node in turn gets SIGTERM, drains (readiness 503, `drain_delay_ms`,
 * Cmd 26 and closes 1012 at `drain_closes_per_second`), exits, is started again and waited for
 * (/readyz 200). Devices move at their close to another live node (a load balancer that took the
 * draining node out, weighting nodes by free sockets) and sign in with Sync from their cursors.
 * Measured per restart: sign-ins/s at the surviving nodes (counted by the nodes' weim_ws_sign_ins_total
 * and by the devices), the drain's own count of closes per second (its `drained` log line), when
 * every moved socket was signed in again and where its reconnect spent the time, the node's SIGTERM →
 * exit time; over the run: every message sent, acked, stored and delivered, per device against
 * MariaDB (0 lost, 0 duplicated), and the CPU split. Node logs stay in the printed directory with
 * WEIM_BENCH_KEEP=1.
 *
 *   npm run bench:rolling -- [--sockets 30000] [--rate 600] [--drain-rate 2000] [--drain-delay 1000]
 *                            [--warmup 5] [--pause 5]
 */
const { values: args } = parseArgs({
  options: {
    sockets: { type: 'string', default: '30000' },
    rate: { type: 'string', default: '600' },
    'drain-rate': { type: 'string', default: '2000' },
    'drain-delay': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '5' },
    pause: { type: 'string', default: '5' },
  },
  strict: true,
});
const sockets = Math.min(45_000, Math.max(6, Math.floor(Number(args.sockets) / 2) * 2));
const rate = Math.max(0, Number(args.rate));
const drain = { delayMs: Number(args['drain-delay']), perSecond: Number(args['drain-rate']) };
const warmup = Number(args.warmup);
const pause = Number(args.pause);
const PER_LOADER = 15_000;
/** A node takes at most this many sockets from the load balancer (20,000 open files per process). */
const NODE_CAP = 19_000;
const log = (line: string) => process.stdout.write(`${line}\n`);

interface WeimNode { index: number; port: number; url: string; child?: ChildProcess; logFile: string }

/** The node's last 'drained' log line (pino JSON): what its drain reported. */
function lastDrain(logFile: string): RestartTimes['drained'] {
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('"drained'));
  if (lines.length === 0) return undefined;
  const entry = JSON.parse(lines.at(-1)!) as { sockets: number; ms: number; peakPerSecond: number };
  return { sockets: entry.sockets, ms: entry.ms, peakPerSecond: entry.peakPerSecond };
}

/** /proc/stat: busy, soft-interrupt (loopback networking, charged to no process) and total clock ticks of the whole machine. */
function machineTicks(): { busy: number; softirq: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, softirq: f[6]!, total };
}

async function main(): Promise<void> {
  log(`rolling restart bench: 3 nodes, ${sockets} sockets, 1:1 at ${rate}/s, drain delay ${drain.delayMs} ms, ${drain.perSecond} closes/s`);
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const services: Started[] = [];
  const nodes: WeimNode[] = [];
  const loaders: ChildProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-rolling-bench-'));
  const bench = await openBenchDatabase('mysql', dataDir, log, { durable: true, bufferPoolSize: '1G' });
  let scraping = true;
  try {
    for (const [name, start] of [['redis-server', startRedis], ['etcd', startEtcd]] as const) {
      const binary = findBinary(name);
      if (!binary) throw new Error(`${name} not found: apt-get install -y redis-server etcd-server`);
      services.push(await start(binary));
    }
    const [redisUrl, etcdUrl] = services.map((s) => s.url) as [string, string];
    await migrateToLatest(bench.dbh.db, { info: () => {} });
    const seeded = await seedDatabase(bench.dbh.db, sockets);
    const secret = randomBytes(24).toString('hex');
    const tokens = issueTokens(bench.dbh.db, secret, seeded.userIds);
    log(`seeded ${sockets} users in ${sockets / 2} friend pairs; node logs in ${dataDir}`);

    const env = (index: number): Record<string, string> => ({
      ...benchNodeEnv(secret, sockets),
      WEIM_DATA_DIR: join(dataDir, `n${index + 1}`),
      WEIM_DB_DIALECT: 'mysql',
      WEIM_DB_URL: bench.url,
      WEIM_CLUSTER_MODE: 'cluster',
      WEIM_CLUSTER_NODE_ID: `n${index + 1}`,
      WEIM_CLUSTER_REDIS_URL: redisUrl,
      WEIM_CLUSTER_ETCD_HOSTS: etcdUrl,
      WEIM_SERVER_DRAIN_DELAY_MS: String(drain.delayMs),
      WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: String(drain.perSecond),
      WEIM_SERVER_SHUTDOWN_TIMEOUT_MS: '10000',
      // The node logs its drain ('drained', info): sockets, duration, the most closes in one second.
      WEIM_LOG_LEVEL: 'info',
    });
    for (let index = 0; index < 3; index++) {
      const port = await freePort();
      nodes.push({ index, port, url: `http://127.0.0.1:${port}`, logFile: join(dataDir, `n${index + 1}.log`) });
    }
    const startNode = async (n: WeimNode): Promise<void> => {
      const out = openSync(n.logFile, 'a');
      const child = spawn(process.execPath, [...benchServerFlags(), ...weimNodeArgs()], {
        cwd: repoRoot,
        env: { ...process.env, ...env(n.index), PORT: String(n.port) },
        stdio: ['ignore', out, out],
      });
      closeSync(out);
      n.child = child;
      const deadline = Date.now() + 90_000;
      for (;;) {
        if (child.exitCode !== null) throw new Error(`n${n.index + 1} exited at start (code ${child.exitCode}); see ${n.logFile}`);
        if (Date.now() > deadline) throw new Error(`n${n.index + 1} not ready within 90 s; see ${n.logFile}`);
        const status = await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0);
        if (status === 200) return;
        await sleep(100);
      }
    };
    await Promise.all(nodes.map(startNode));
    log(`3 nodes ready: ${nodes.map((n) => n.url).join(' ')}`);

    // The load processes: device i goes to loader i % K and first to node i % 3; its friend is i ^ 1.
    const live = [true, true, true];
    let lastSockets = [0, 0, 0];
    const weights = () => live.map((up, n) => (up ? Math.max(500, NODE_CAP - (lastSockets[n] || 0)) : 0));
    const k = Math.ceil(sockets / PER_LOADER);
    const urls = nodes.map((n) => `ws://127.0.0.1:${n.port}/ws`);
    const inbox: Array<Array<FromLoad>> = [];
    const waitAll = async <T extends FromLoad['type']>(type: T): Promise<Array<Extract<FromLoad, { type: T }>>> => {
      for (;;) {
        const found = inbox.map((box) => box.findIndex((m) => m.type === type));
        if (found.every((i) => i >= 0)) return found.map((i, c) => inbox[c]!.splice(i, 1)[0] as Extract<FromLoad, { type: T }>);
        await sleep(50);
      }
    };
    const tell = (m: ToLoad) => loaders.forEach((l) => l.send(m));
    const opening = Date.now();
    const openCpu = nodes.map((n) => cpuSeconds(n.child!.pid!));
    for (let c = 0; c < k; c++) {
      const child = fork(join(repoRoot, 'bench/rolling-load.ts'), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: 'inherit', cwd: repoRoot });
      inbox.push([]);
      child.on('message', (m: FromLoad) => (m.type === 'progress' ? log(`  loader ${c + 1}: ${m.line}`) : inbox[c]!.push(m)));
      loaders.push(child);
      const devices: Array<[number, number, string, number]> = [];
      for (let i = c; i < sockets; i += k) devices.push([i, seeded.userIds[i]!, tokens[i]!, seeded.userIds[i ^ 1]!]);
      child.send({ type: 'init', devices, urls, weights: weights(), concurrency: 100 } satisfies ToLoad);
    }
    const opened = await waitAll('opened');
    const openedCount = opened.reduce((n, o) => n + o.opened, 0);
    const openCpuUs = (nodes.reduce((sum, n, i) => sum + cpuSeconds(n.child!.pid!) - openCpu[i]!, 0) / Math.max(1, openedCount)) * 1e6;
    log(`${openedCount} of ${sockets} signed in (${opened.reduce((n, o) => n + o.failed, 0)} failed at first) by ${k} load processes in ${((Date.now() - opening) / 1000).toFixed(1)} s; node CPU ${openCpuUs.toFixed(0)} µs a sign-in`);

    // Every second: each node's sign-in counter and sockets, the load balancer's weights, CPU time.
    // (Every 500 ms cost a node 7% of its CPU at 10,000 sockets: the process metrics read
    // /proc/self/fd and the active handles each time.)
    const scrapes: Scrape[] = [];
    const cpu = { nodes: 0, mariadb: 0, redisEtcd: 0, loaders: 0, bench: 0 };
    const lastCpu = new Map<number, number>();
    const cpuOf = (pid: number | undefined): number => {
      if (!pid) return 0;
      try {
        const now = cpuSeconds(pid);
        const delta = now - (lastCpu.get(pid) ?? now);
        lastCpu.set(pid, now);
        return delta;
      } catch {
        return 0;
      }
    };
    let machine = machineTicks();
    const machineStart = machine;
    const scraper = (async () => {
      while (scraping) {
        const at = Date.now();
        const took = [0, 0, 0];
        const texts = await Promise.all(nodes.map((n) => fetch(`${n.url}/metrics`, { signal: AbortSignal.timeout(2000) }).then((r) => r.text(), () => '').finally(() => (took[n.index] = Date.now() - at))));
        const read = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
        const scrape = { at, signIns: texts.map((t) => read(t, 'weim_ws_sign_ins_total')), sockets: texts.map((t) => read(t, 'weim_ws_sockets')), lagMax: texts.map((t) => read(t, 'weim_nodejs_eventloop_lag_max_seconds') * 1000), took };
        scrapes.push(scrape);
        lastSockets = scrape.sockets.map((s, n) => (Number.isFinite(s) ? s : lastSockets[n]!));
        tell({ type: 'weights', weights: weights() });
        cpu.nodes += nodes.reduce((sum, n) => sum + cpuOf(n.child?.pid), 0);
        cpu.mariadb += cpuOf(bench.server?.child?.pid);
        cpu.redisEtcd += services.reduce((sum, x) => sum + cpuOf(x.child?.pid), 0);
        cpu.loaders += loaders.reduce((sum, l) => sum + cpuOf(l.pid), 0);
        cpu.bench += cpuOf(process.pid);
        machine = machineTicks();
        await sleep(Math.max(0, 1000 - (Date.now() - at)));
      }
    })();

    const trafficFrom = Date.now();
    tell({ type: 'traffic', rate: rate / k });
    log(`1:1 traffic at ${rate}/s; ${warmup} s before the first restart`);
    await sleep(warmup * 1000);
    const restarts: RestartTimes[] = [];
    for (const n of nodes) {
      live[n.index] = false;
      tell({ type: 'weights', weights: weights() });
      const readiness: Array<[number, number]> = [];
      const probe = setInterval(() => void fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(500) }).then((r) => r.status, () => 0).then((s) => readiness.push([Date.now(), s])), 100);
      const exited = new Promise<number>((resolve) => n.child!.once('exit', () => resolve(Date.now())));
      const sigterm = Date.now();
      log(`n${n.index + 1}: SIGTERM (${lastSockets[n.index]} sockets)`);
      n.child!.kill('SIGTERM');
      const times: RestartTimes = { node: n.index, sigterm, exited: await exited, ready: 0, drained: lastDrain(n.logFile) };
      clearInterval(probe);
      const first503 = readiness.find(([, s]) => s === 503)?.[0];
      times.first503 = first503;
      log(`n${n.index + 1}: exited ${times.exited - sigterm} ms after SIGTERM (/readyz 503 from +${first503 === undefined ? '?' : first503 - sigterm} ms); starting it again`);
      await startNode(n);
      times.ready = Date.now();
      live[n.index] = true;
      tell({ type: 'weights', weights: weights() });
      log(`n${n.index + 1}: ready ${times.ready - times.exited} ms after its exit; ${pause} s pause`);
      restarts.push(times);
      await sleep(pause * 1000);
    }
    tell({ type: 'traffic', rate: 0 });
    const trafficTo = Date.now();
    tell({ type: 'settle', timeoutMs: 180_000 });
    const settled = await waitAll('settled');
    log(`traffic stopped; settled in ${Math.max(...settled.map((s) => s.ms))} ms: ${settled.reduce((n, s) => n + s.notReady, 0)} devices not signed in, ${settled.reduce((n, s) => n + s.pending, 0)} sends unanswered`);
    await sleep(2000);
    scraping = false;
    await scraper;
    const ticks = { busy: machine.busy - machineStart.busy, softirq: machine.softirq - machineStart.softirq };
    tell({ type: 'report' });
    const reports = await waitAll('report');
    const logs: DeviceLog[] = reports.flatMap((r) => r.logs);
    const loaderLag = reports.flatMap((r) => r.lag);
    const stored = await sql<{ id: number; sender_id: number; to_id: number; client_msg_id: string }>`select id, sender_id, to_id, client_msg_id from messages where ope = 0`.execute(bench.dbh.db);
    const rows = stored.rows.map((r) => ({ id: Number(r.id), sender: Number(r.sender_id), to: Number(r.to_id), clientMsgId: r.client_msg_id }));
    const figures = restarts.map((r, i) => restartFigures(logs, r, restarts[i + 1]?.sigterm ?? trafficTo, scrapes, drain, loaderLag));
    const messages = messageFigures(logs, rows);
    const seconds = (trafficTo - trafficFrom) / 1000;
    const machineCpu = ticks.busy / 100;
    const softirq = ticks.softirq / 100;
    printReport(figures, messages, openedCount, seconds, { ...cpu, machine: machineCpu, softirq, others: Math.max(0, machineCpu - softirq - cpu.nodes - cpu.mariadb - cpu.redisEtcd - cpu.loaders - cpu.bench) });
  } finally {
    scraping = false;
    for (const l of loaders) l.kill();
    await Promise.all(nodes.map((n) => (n.child ? stopProcess(n.child) : undefined)));
    for (const s of services) {
      if (s.child) await stopProcess(s.child);
      if (s.dir) rmSync(s.dir, { recursive: true, force: true });
    }
    await bench.close();
    if (!process.env.WEIM_BENCH_KEEP) rmSync(dataDir, { recursive: true, force: true });
  }
}

function printReport(figures: RestartFigures[], m: MessageFigures, signedIn: number, seconds: number, cpu: Record<string, number>): void {
  const s = (ms: number) => (ms / 1000).toFixed(2);
  log(`\n== results: 3 nodes, ${signedIn} sockets, 1:1 at ${rate}/s, drain delay ${drain.delayMs} ms, ${drain.perSecond} closes/s ==`);
  for (const f of figures) {
    const ph = (k: keyof RestartFigures['phases']) => f.phases[k].map((v) => v.toFixed(0)).join('/');
    const node = f.drained ? `${f.drained.sockets} closed over ${s(f.drained.ms)} s, at most ${f.drained.peakPerSecond} in one second` : 'no drain report in its log';
    const codes = Object.entries(f.otherCodes).map(([code, n]) => `${n}× ${code}`).join(', ');
    log(`n${f.node + 1}: ${f.moved} sockets moved (${f.told} told by Cmd 26; closed ${f.closed1012} with 1012, ${f.closedOther} otherwise${codes ? `: ${codes}` : ''}); drain window ${s(f.windowMs)} s`);
    log(`    the node's drain: ${node}; /readyz 503 from +${f.first503Ms === undefined ? '?' : s(f.first503Ms)} s, closes from +${s(f.firstCloseMs)} to +${s(f.lastCloseMs)} s, exit at +${s(f.exitMs)} s; /readyz 200 again ${s(f.startMs)} s after the exit`);
    log(`    back: ${f.back} of ${f.moved} (${f.backInSpan} before the next restart or the end of traffic), the last at +${s(f.lastBackMs)} s; close → signed in again p50/p99/max ${f.gap.map((g) => g.toFixed(0)).join('/')} ms`);
    log(`    sign-ins/s at the other nodes: peak ${Math.round(f.serverPeak)} counted by the nodes, ${f.clientPeak} by the devices; closes as the devices saw them: peak ${f.closePeak}/s`);
    log(`    per second from SIGTERM (nodes): ${f.serverPerSecond.join(' ')}`);
    log(`    reconnect p50/p99 ms: close → connect ${ph('wait')}, TCP connect ${ph('tcp')}, upgrade ${ph('open')}, Cmd 3 → Cmd 4 ${ph('signIn')}, Cmd 4 → sync done ${ph('sync')}; ${f.failedAttempts} attempts failed`);
    log(`    longest event-loop delay during the drain: other nodes ${f.survivorLagMs.toFixed(0)} ms, load processes ${f.loaderLagMs.toFixed(0)} ms; slowest /metrics answer of the other nodes ${f.survivorScrapeMs} ms`);
  }
  log(`messages over ${seconds.toFixed(0)} s: ${m.sent} sent, ${m.acked} acked, ${m.refused} refused, ${m.unanswered} unanswered, ${m.resends} written again; ${m.stored} stored (${m.storedTwice} twice, ${m.ackedNotStored} acked but not stored, ${m.storedUnanswered} stored but never answered)`);
  log(`delivery per device against the database: ${m.delivered} delivered, ${m.lost} lost, ${m.devicesMismatched} devices mismatched (${m.devicesOffline} devices not back at the end: ${m.undeliveredOffline} messages not delivered to them yet), ${m.phantom} unknown ids; duplicates: ${m.dupOnSocket} twice on a socket, ${m.belowCursor} at or below the presented cursor; ${m.againAboveCursor} again on a new socket above its cursor (allowed); ${m.outOfOrder} out of order on a socket`);
  log(`CPU seconds over the run: nodes ${cpu.nodes!.toFixed(1)}, mariadbd ${cpu.mariadb!.toFixed(1)}, redis + etcd ${cpu.redisEtcd!.toFixed(1)}, load processes ${cpu.loaders!.toFixed(1)}, bench ${cpu.bench!.toFixed(1)}, soft interrupts ${cpu.softirq!.toFixed(1)}, other processes ${cpu.others!.toFixed(1)} (machine busy ${cpu.machine!.toFixed(1)}); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const limit = drain.perSecond * 1.1;
  const checks: Array<[string, boolean]> = [
    [`peak sign-ins/s at the surviving nodes ≤ ${limit.toFixed(0)} (drain rate + 10%), counted by the nodes`, figures.every((f) => f.serverPeak <= limit)],
    ['/readyz said 503 before the first socket was closed', figures.every((f) => f.first503Ms !== undefined && f.first503Ms < f.firstCloseMs)],
    [`the draining node closed at most ${drain.perSecond} sockets in any second (its own count)`, figures.every((f) => f.drained !== undefined && f.drained.peakPerSecond <= drain.perSecond)],
    ['0 messages lost, 0 duplicated (stored twice or sent twice on a socket), every send answered and stored', m.lost === 0 && m.devicesMismatched === 0 && m.devicesOffline === 0 && m.storedTwice === 0 && m.dupOnSocket === 0 && m.belowCursor === 0 && m.ackedNotStored === 0 && m.unanswered === 0 && m.sent === m.acked + m.refused],
    ['every moved socket signed in again within the drain window (delay + moved / rate, +10%)', figures.every((f) => f.back === f.moved && f.lastBackMs <= f.windowMs * 1.1)],
  ];
  log('\ntargets:');
  for (const [label, ok] of checks) log(`  ${ok ? 'MET ' : 'MISS'}  ${label}`);
}

main().catch((err: unknown) => {
  console.error('rolling bench failed:', err);
  process.exit(1);
});
