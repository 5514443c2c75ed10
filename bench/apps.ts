import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { migrateToLatest } from '../src/db/migrate.js';
import { startEtcd, startRedis } from '../test/setup/services.js';
import { findBinary, freePort, stopProcess } from '../test/setup/processes.js';
import { appCall, appStats, bindAll, pollHealth, type BindResult, describeFanout, emptyFanout, type Fanout, LoadProcess, median, record } from './apps-host.js';
import { openBenchDatabase } from './database.js';
import { issueTokens, seedDatabase } from './gateway-seed.js';
import type { OpenResult } from './load-client.js';
import { benchNodeEnv, cpuSeconds, sleep, startTarget, type Target, waitForTimeWait } from './targets.js';
import { Meter, type PhaseCost } from './workers-host.js';
import { fail, runBench, wholeArg } from './cli.js';

/**
 * The realtime gateway's group ("channel") fan-out across two nodes, against the IM path's group
 * fan-out in the same run (issue 22). Two weim nodes (each its own process) on a private MariaDB,
 * Redis and etcd; the app `bench` configured, its backend calls unsigned from 127.0.0.0/8.
 *
 * 1. IM: M seeded users signed in (2 load processes, alternating nodes), one group of all M;
 *    K group messages from user 0 to the M−1 others ("IM alone", before any app connection).
 * 2. Apps: N app connections (`/ws?systemId=bench`, alternating nodes, over L load processes: one
 *    process holds at most ~19,800 sockets); M of them, half on each node, bound to "channel"
 *    with POST /api/bind_to_group (50 in flight, to either node). Each bind sends 1001 to every
 *    member already bound (woodylan's presence): about M²/2 frames, measured, with each node's
 *    /healthz latency meanwhile (its event loop) and the binds answered success but not in effect.
 * 3. Once both nodes are idle, K rounds, alternating: one IM group message, then one POST
 *    /api/send_to_group to node 1; send → last and median member, members missed, Redis PUBLISH
 *    calls per send, each node's CPU in the 2 s from the send.
 *
 *   npx tsx bench/apps.ts [--connections 20000] [--channel 10000] [--repeats 5] [--load-processes auto]
 *     [--bind-concurrency 50] [--bind-budget 1200] [--max-backlog 1000000]
 */
const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '20000' },
    channel: { type: 'string', default: '10000' },
    repeats: { type: 'string', default: '5' },
    'load-processes': { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '200' },
    'bind-concurrency': { type: 'string', default: '50' },
    'bind-budget': { type: 'string', default: '1200' },
    'max-backlog': { type: 'string', default: '1000000' },
  },
  strict: true,
});
const connections = whole('connections', 4, 150_000);
const channel = whole('channel', 2, Math.min(connections, 39_000));
const repeats = whole('repeats', 1, 50);
const appLoads = Number(args['load-processes']) > 0 ? whole('load-processes', 1, 16) : Math.max(2, Math.ceil(connections / 15_000));
const concurrency = whole('concurrency', 1, 1000);
const bindConcurrency = whole('bind-concurrency', 1, 1000);
const bindBudgetMs = whole('bind-budget', 1, 7200) * 1000;
const maxBacklog = whole('max-backlog', 1000, 1e9);
const IM_LOADS = 2;
const GROUP = 'channel';
/** How long a message's members are waited for, and the window of its node CPU figure. */
const WATCH_MS = 10_000;
const CPU_WINDOW_MS = 2000;
if (Math.ceil(connections / appLoads) > 19_000) fail(`${Math.ceil(connections / appLoads)} app connections a load process: more than one process can hold (raise --load-processes)`);
const log = (line: string) => process.stdout.write(`${line}\n`);
const cleanups: Array<() => Promise<void> | void> = [];
const loadText = () => loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  log(`apps bench: 2 nodes; IM group of ${channel} over ${IM_LOADS} load processes; ${connections} app connections over ${appLoads} load processes, ${channel} bound to "${GROUP}"; ${repeats} messages each`);
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  const tw = await waitForTimeWait(log);
  const loadAtStart = loadText();
  log(`load average at start ${loadAtStart}, TIME_WAIT ${tw}, ${new Date().toISOString()}`);

  const dataDir = mkdtempSync(join(tmpdir(), 'weim-apps-bench-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const bench = await openBenchDatabase('mysql', dataDir, log, { durable: true, bufferPoolSize: '1G' });
  cleanups.push(() => bench.close());
  const urls: Record<'redis' | 'etcd', string> = { redis: '', etcd: '' };
  const pids: Record<string, number[]> = { mariadbd: [bench.server!.child.pid!] };
  for (const [name, binaryName, start] of [['redis', 'redis-server', startRedis], ['etcd', 'etcd', startEtcd]] as const) {
    const binary = findBinary(binaryName) ?? fail(`${binaryName} not found: apt-get install -y redis-server etcd-server`);
    const service = await start(binary);
    cleanups.push(async () => {
      if (service.child) await stopProcess(service.child);
      if (service.dir) rmSync(service.dir, { recursive: true, force: true });
    });
    pids[name] = [service.child!.pid!];
    urls[name] = service.url;
  }
  await migrateToLatest(bench.dbh.db, { info: () => {} });
  const seeded = await seedDatabase(bench.dbh.db, channel);
  const secret = randomBytes(24).toString('hex');
  const tokens = issueTokens(bench.dbh.db, secret, seeded.userIds);
  log(`seeded ${channel} users and one group of all of them`);

  // Stopped after the nodes (cleanups run last first): closing 10,000 channel members on a live
  // node would send each remaining member a 1002 per close.
  const forked: LoadProcess[] = [];
  cleanups.push(() => Promise.all(forked.map((l) => stopProcess(l.child))).then(() => {}));
  const targets: Target[] = [];
  const appsList = JSON.stringify([{ key: 'bench', name: 'Bench', secret: randomBytes(24).toString('hex') }]);
  for (const nodeId of ['node-1', 'node-2']) {
    const target = await startTarget('weim', 'src/main.ts', await freePort(), {
      ...benchNodeEnv(secret, channel),
      WEIM_DB_DIALECT: 'mysql',
      WEIM_DB_URL: bench.url,
      WEIM_CLUSTER_MODE: 'cluster',
      WEIM_CLUSTER_NODE_ID: nodeId,
      WEIM_CLUSTER_REDIS_URL: urls.redis,
      WEIM_CLUSTER_ETCD_HOSTS: urls.etcd,
      WEIM_APPS_LIST: appsList,
      WEIM_APPS_TRUSTED_NETWORKS: '127.0.0.0/8',
    });
    targets.push(target);
    cleanups.push(async () => {
      const t = Date.now();
      await target.stop();
      log(`${nodeId} stopped in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    });
  }
  const bases = targets.map((t) => t.wsUrl.replace(/^ws:/, 'http:').replace(/\/ws$/, ''));
  const redis = new Redis(urls.redis);
  cleanups.push(() => redis.disconnect());
  const publishes = async () => Number(/cmdstat_publish:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
  const nodeCpu = () => targets.map((t) => cpuSeconds(t.pid)) as [number, number];
  /** The nodes' CPU seconds over the next `CPU_WINDOW_MS` (from just before a send: the fan-out and a little idle, the same for both paths). */
  const cpuWindow = async (): Promise<[number, number]> => {
    const c0 = nodeCpu();
    await sleep(CPU_WINDOW_MS);
    const c1 = nodeCpu();
    return [c1[0] - c0[0], c1[1] - c0[1]];
  };

  const imLoads = Array.from({ length: IM_LOADS }, (_, p) => new LoadProcess(`im ${p}`, 'bench/workers-load.ts'));
  const apps = Array.from({ length: appLoads }, (_, p) => new LoadProcess(`apps ${p}`, 'bench/apps-load.ts'));
  forked.push(...imLoads, ...apps);
  await sleep(1000);
  const meter = new Meter({ 'node 1': [targets[0]!.pid], 'node 2': [targets[1]!.pid], mariadbd: pids.mariadbd!, redis: pids.redis!, etcd: pids.etcd!, load: [...imLoads, ...apps].map((l) => l.child.pid!) });
  const phases: Array<[string, PhaseCost]> = [];
  const measure = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
    const start = meter.start();
    const result = await run();
    phases.push([name, meter.since(start)]);
    log(`  [${name}: ${describe(phases.at(-1)![1])}]`);
    return result;
  };

  // IM: users split in contiguous halves; within a process, socket k goes to node k % 2.
  const imShare = Math.ceil(channel / IM_LOADS);
  const imGlobals = imLoads.map((_, p) => Array.from({ length: Math.max(0, Math.min(channel, (p + 1) * imShare) - p * imShare) }, (_, k) => p * imShare + k));
  const imOpen = await measure('IM sign-in', () => Promise.all(imLoads.map((l, p) => l.request<OpenResult>('open', { url: targets.map((t) => t.wsUrl), tokens: imGlobals[p]!.map((g) => tokens[g]!), concurrency: Math.ceil(concurrency / IM_LOADS), timeoutMs: 600_000 }))));
  log(`IM: ${imOpen.reduce((s, o) => s + o.opened, 0)} signed in, ${imOpen.reduce((s, o) => s + o.failed, 0)} failed`);
  await sleep(2000);
  const imMembers = imGlobals.map((globals) => globals.flatMap((g, k) => (g > 0 ? [k] : [])));
  const imMessage = async (f: Fanout, r: number, tag: string) => {
    await Promise.all(imLoads.map((l, p) => l.request('watch', { cmd: 10, indexes: imMembers[p], timeoutMs: WATCH_MS })));
    const p0 = await publishes();
    const cpu = cpuWindow();
    const text = JSON.stringify({ Cmd: 17, ToId: seeded.groupId, Ope: 1, Type: 0, Body: `group fan-out ${tag}`, ClientMsgId: `g-${Date.now()}-${tag}` });
    const { at } = await imLoads[0]!.request<{ at: number }>('send', { index: 0, text });
    const arrivals = await Promise.all(imLoads.map((l) => l.request<{ arrivals: Float64Array }>('collect')));
    const published = (await publishes()) - p0;
    log(`  IM message ${r}: ${record(f, at, arrivals.map((a) => a.arrivals), channel - 1, published, await cpu)}`);
  };
  const imAlone = emptyFanout();
  await measure('IM alone: group messages', async () => {
    for (let r = 1; r <= repeats; r++) {
      await imMessage(imAlone, r, `alone ${r}`);
      await sleep(1000);
    }
  });

  // App connections: process p holds a share; its socket k goes to node k % 2.
  const appShare = Math.ceil(connections / appLoads);
  const counts = apps.map((_, p) => Math.max(0, Math.min(connections, (p + 1) * appShare) - p * appShare));
  const appUrls = targets.map((t) => `${t.wsUrl}?systemId=bench`);
  const opened = await measure('app connections', () => Promise.all(apps.map((l, p) => l.request<{ opened: number; failed: number; seconds: number; clientIds: Array<string | null> }>('open', { urls: appUrls, count: counts[p], concurrency: Math.ceil(concurrency / appLoads), timeoutMs: 600_000 }))));
  const appOpened = opened.reduce((s, o) => s + o.opened, 0);
  const openSeconds = Math.max(...opened.map((o) => o.seconds));
  log(`apps: ${appOpened} connected, ${opened.reduce((s, o) => s + o.failed, 0)} failed in ${openSeconds.toFixed(1)} s (${Math.round(appOpened / openSeconds)}/s)`);
  await sleep(2000);

  // The channel: in each process its first M/L sockets (half on each node), bound in turns across processes.
  const perProcess = Math.ceil(channel / appLoads);
  const members = apps.map((_, p) => Array.from({ length: Math.max(0, Math.min(perProcess, counts[p]!, channel - p * perProcess)) }, (_, k) => k).filter((k) => opened[p]!.clientIds[k] !== null));
  const order: string[] = [];
  const position = new Map<string, number>();
  const sets = members.map((ks) => new Set(ks));
  for (let k = 0; k < perProcess; k++) {
    for (let p = 0; p < appLoads; p++) {
      if (!sets[p]!.has(k)) continue;
      position.set(opened[p]!.clientIds[k]!, order.length);
      order.push(opened[p]!.clientIds[k]!);
    }
  }
  log(`binding ${order.length} connections to "${GROUP}", ${bindConcurrency} calls in flight, alternating nodes (budget ${bindBudgetMs / 1000} s, at most ${maxBacklog} presence frames owed)`);
  const health = pollHealth(bases);
  const bind: BindResult = await measure('bind', () => bindAll({ bases, group: GROUP, clientIds: order, concurrency: bindConcurrency, maxBacklog, budgetMs: bindBudgetMs, loads: apps, log }));
  const stalls = (await health.stop()).map((h, n) => `node ${n + 1}: max ${(h.max / 1000).toFixed(1)} s, p99 ${h.p99.toFixed(0)} ms, ${h.over1s} over 1 s, ${h.over5s} over 5 s of ${h.samples}`).join('; ');
  log(`/healthz while binding: ${stalls}`);
  const online = (await appCall(bases[0]!, 'get_online_list', { groupName: GROUP })).data as { count: number; list: string[] | null };
  const holding = await redis.hkeys(`weim:app:bench:gn:${GROUP}`);
  log(`bound ${bind.bound} (${bind.failed} failed${bind.firstFailure ? `: ${bind.firstFailure}` : ''}) in ${bind.seconds.toFixed(1)} s, presence drained at ${bind.drainedSeconds.toFixed(1)} s; online list ${online.count}; nodes holding members: ${holding.join(', ')}`);
  // Binds answered success whose connection is not in the group: by the connection's node and the node the call went to.
  const inGroup = new Set(online.list ?? []);
  const lost = new Map<string, number>();
  const lostAt = new Map<string, number>();
  order.slice(0, bind.bound + bind.failed).forEach((id, i) => {
    if (inGroup.has(id)) return;
    const second = new Date(bind.answeredAt[i]!).toISOString().slice(11, 19);
    lostAt.set(second, (lostAt.get(second) ?? 0) + 1);
    const key = `${Buffer.from(id.split('.')[0]!, 'base64url').toString()} (call to node-${(i % 2) + 1})`;
    lost.set(key, (lost.get(key) ?? 0) + 1);
  });
  const lostText = lost.size === 0 ? 'none' : [...lost].map(([k, n]) => `${n} on ${k}`).join(', ');
  log(`bound but not in the online list: ${lostText}`);
  if (lostAt.size > 0) log(`  those binds answered at (UTC second: count) ${[...lostAt].map(([t, n]) => `${t}: ${n}`).join(', ')}`);
  const boundIndexes = members.map((ks, p) => ks.filter((k) => position.get(opened[p]!.clientIds[k]!)! < bind.bound + bind.failed));
  const expectedMembers = boundIndexes.reduce((sum, ks) => sum + ks.length, 0);
  // The rounds start on idle nodes: after a long presence storm a node may still be catching up
  // (directory rebuilds and stream repairs after lapsed leases), which would be measured as fan-out.
  const settleFrom = Date.now();
  for (let busy = nodeCpu(), idle = 0; idle < 2 && Date.now() - settleFrom < 180_000; ) {
    await sleep(2000);
    const now = nodeCpu();
    idle = now.every((c, n) => (c - busy[n]!) / 2 < 0.15) ? idle + 1 : 0;
    busy = now;
  }
  const settled = `nodes idle (< 0.15 cores each for 4 s) ${((Date.now() - settleFrom) / 1000).toFixed(0)} s after the binding`;
  log(settled);

  const imRounds = emptyFanout();
  const appRounds = emptyFanout();
  const answerMs: number[] = [];
  const statsBefore = await appStats(apps);
  await measure('rounds: IM and app messages alternating', async () => {
    for (let r = 1; r <= repeats; r++) {
      await imMessage(imRounds, r, `round ${r}`);
      await sleep(1000);
      const marker = `"msg":"bench-${r}"`;
      await Promise.all(apps.map((l, p) => l.request('watch', { marker, indexes: boundIndexes[p], timeoutMs: WATCH_MS })));
      const p0 = await publishes();
      const cpu = cpuWindow();
      const at = performance.timeOrigin + performance.now();
      const answer = await appCall(bases[0]!, 'send_to_group', { groupName: GROUP, msg: `bench-${r}`, data: 'x' });
      answerMs.push(performance.timeOrigin + performance.now() - at);
      if (answer.code !== 0) log(`  send_to_group answered ${JSON.stringify(answer)}`);
      const arrivals = await Promise.all(apps.map((l) => l.request<{ arrivals: Float64Array }>('collect')));
      const published = (await publishes()) - p0;
      log(`  app message ${r}: ${record(appRounds, at, arrivals.map((a) => a.arrivals), expectedMembers, published, await cpu)}; answered after ${answerMs.at(-1)!.toFixed(1)} ms`);
      await sleep(1000);
    }
  });
  const statsAfter = await appStats(apps);
  const loadAtEnd = loadText();

  const ratio = median(appRounds.lastMs) / median(imRounds.lastMs);
  const publishesPerSend = appRounds.publishes.reduce((a, b) => a + b, 0) / repeats;
  const otherNodesHolding = holding.filter((n) => n !== 'node-1').length;
  log(`\n== results: 2 nodes, IM group of ${channel}, ${appOpened} app connections, channel of ${expectedMembers} (online list ${online.count}) ==`);
  log(`host: ${cpus()[0]?.model ?? '?'} (${cpus().length} cores); load average at start ${loadAtStart}, at end ${loadAtEnd}`);
  for (const [name, cost] of phases) log(`phase ${name}: ${describe(cost)}`);
  log(`IM sign-in: ${imOpen.map((o) => `${o.opened} in ${o.seconds.toFixed(1)} s`).join(', ')}; app connections: ${appOpened} in ${openSeconds.toFixed(1)} s`);
  log(`bind: ${bind.bound} bound of ${order.length} (${bind.failed} failed) in ${bind.seconds.toFixed(1)} s (${Math.round(bind.bound / bind.seconds)}/s), presence delivered by ${bind.drainedSeconds.toFixed(1)} s; waited for the members ${bind.throttledSeconds.toFixed(1)} s (summed over ${bindConcurrency} callers)`);
  log(`bind steps (binds so far: seconds for the tenth): ${bind.steps.map(([n, s]) => `${n}: ${s.toFixed(1)}`).join(', ')}`);
  log(`bound but not in the online list: ${lostText}`);
  log(`/healthz while binding: ${stalls}; ${settled}`);
  log(`presence: ${bind.presence} 1001 frames (${(bind.presenceBytes / 2 ** 20).toFixed(0)} MiB) received while binding; k(k+1)/2 for ${bind.bound} binds = ${(bind.bound * (bind.bound + 1)) / 2}`);
  log(describeFanout('IM alone (before any app connection)', imAlone));
  log(describeFanout('IM, rounds', imRounds));
  log(describeFanout('app channel, rounds', appRounds));
  log(`app send_to_group answered after ${answerMs.map((ms) => ms.toFixed(1)).join(', ')} ms`);
  log(`app → last / IM → last (medians of ${repeats}, rounds): ${ratio.toFixed(2)}× (target ≤ 1.2×: ${ratio <= 1.2 ? 'met' : 'NOT met'}); against IM alone ${(median(appRounds.lastMs) / median(imAlone.lastMs)).toFixed(2)}×`);
  log(`Redis publishes per channel send: ${publishesPerSend.toFixed(2)} (other nodes holding members: ${otherNodesHolding}: ${publishesPerSend === otherNodesHolding ? 'met' : 'NOT met'}); per IM group message ${(imRounds.publishes.reduce((a, b) => a + b, 0) / repeats).toFixed(2)}`);
  log(`app load processes during the rounds: ${statsAfter.presence - statsBefore.presence} stray 1001, ${statsAfter.offline - statsBefore.offline} 1002, ${statsAfter.other - statsBefore.other} other frames; sockets closed so far ${statsAfter.closed}`);
}

/** A phase's CPU seconds per part, in cores, the machine's busy share and what others used. */
function describe(cost: PhaseCost): string {
  const parts = Object.entries(cost.cpu).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
  return `${cost.seconds.toFixed(1)} s; CPU ${parts}; machine busy ${cost.busyPercent.toFixed(0)}% (others ${cost.otherCores.toFixed(2)} cores), steal ${cost.steal.toFixed(1)}%`;
}

function whole(name: 'connections' | 'channel' | 'repeats' | 'load-processes' | 'concurrency' | 'bind-concurrency' | 'bind-budget' | 'max-backlog', min: number, max: number): number {
  return wholeArg(args[name], name, min, max);
}

runBench('apps', main, cleanups);
