import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { migrateToLatest } from '../src/db/migrate.js';
import { startEtcd, startRedis, type Started } from '../test/setup/services.js';
import { findBinary, freePort, stopProcess } from '../test/setup/processes.js';
import { openBenchDatabase } from './database.js';
import { issueTokens, seedDatabase } from './gateway-seed.js';
import { LoadClient, percentile } from './load-client.js';
import { benchNodeEnv, cpuSeconds, cpuTicks, sleep, startTarget, stealPercent, type Target } from './targets.js';

/**
 * Cluster benchmark: two weim nodes (each its own process) on one MariaDB, one Redis and one etcd,
 * all private and on loopback. N signed-in sockets alternate between the nodes, so every friend
 * pair (0,1), (2,3), … spans both nodes and a group message reaches members on both. Measures
 * group fan-out to the last member, 1:1 messages across nodes (p50/p99), and how many Redis
 * PUBLISH calls each took: one per other node holding recipients, not one per recipient.
 *
 *   npx tsx bench/cluster.ts [--sockets 4000] [--rate 1000] [--duration 10] [--repeats 3] [--warmup 0]
 *
 * --warmup S: S seconds of the same 1:1 load before the measured phase (not measured), so that the
 * pairs' conversations exist and the friendship caches are filled, as on nodes that have been serving.
 */
const { values: args } = parseArgs({
  options: {
    sockets: { type: 'string', default: '4000' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '10' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '0' },
  },
  strict: true,
});
const sockets = Math.min(18_000, Math.max(4, Number(args.sockets)));
const rate = Math.min(20_000, Math.max(1, Number(args.rate)));
const duration = Math.min(120, Math.max(1, Number(args.duration)));
const repeats = Math.min(20, Math.max(1, Number(args.repeats)));
const warmup = Math.min(60, Math.max(0, Number(args.warmup) || 0));
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  log(`cluster bench: 2 nodes, ${sockets} sockets, 1:1 at ${rate}/s for ${duration} s${warmup > 0 ? ` after ${warmup} s of warm-up` : ''}, ${repeats} group messages`);
  log(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  const services: Started[] = [];
  const targets: Target[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-cluster-bench-'));
  const bench = await openBenchDatabase('mysql', dataDir, log, { durable: true, bufferPoolSize: '1G' });
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
    log(`seeded ${sockets} users, ${seeded.pairs.length} friend pairs across the nodes, one group of ${sockets}`);

    for (const nodeId of ['node-a', 'node-b']) {
      targets.push(await startTarget('weim', 'src/main.ts', await freePort(), {
        ...benchNodeEnv(secret, sockets),
        WEIM_DB_DIALECT: 'mysql',
        WEIM_DB_URL: bench.url,
        WEIM_CLUSTER_MODE: 'cluster',
        WEIM_CLUSTER_NODE_ID: nodeId,
        WEIM_CLUSTER_REDIS_URL: redisUrl,
        WEIM_CLUSTER_ETCD_HOSTS: etcdUrl,
      }));
    }
    const redis = new Redis(redisUrl);
    const publishes = async () => Number(/cmdstat_publish:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    /** Every command Redis has run, and its CPU seconds (user + system), for the 1:1 phase's share. */
    const redisWork = async () => {
      const info = await redis.info('all');
      const commands = [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
      const cpu = ['used_cpu_user', 'used_cpu_sys'].reduce((t, k) => t + Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0), 0);
      return { commands, cpu };
    };

    const client = new LoadClient(log);
    const open = await client.openAll(targets.map((t) => t.wsUrl), tokens, 300);
    log(`  ${open.opened} signed in (${open.failed} failed) over 2 nodes: ${Math.round(open.perSecond)} sign-ins/s`);
    await sleep(2000);

    let before = await publishes();
    const fanout = await client.groupFanout(0, seeded.groupId, repeats, 1000);
    const groupPublishes = (await publishes()) - before;
    log(`  group messages: ${groupPublishes} Redis publishes for ${repeats} messages to ${sockets - 1} members each`);

    if (warmup > 0) {
      const warm = await client.direct(seeded.pairs, seeded.userIds, rate, warmup);
      log(`  warm-up (not measured): ${warm.sent} sent in ${warmup} s, ${warm.delivered} delivered`);
    }
    before = await publishes();
    const redisBefore = await redisWork();
    const cpuBefore = targets.map((t) => cpuSeconds(t.pid));
    const machine = cpuTicks();
    const direct = await client.direct(seeded.pairs, seeded.userIds, rate, duration);
    const nodeCpu = targets.map((t, i) => cpuSeconds(t.pid) - cpuBefore[i]!);
    const directPublishes = (await publishes()) - before;
    const redisAfter = await redisWork();
    const at = (q: number) => percentile(direct.latencies, q).toFixed(1);
    log(`\n== results: 2 nodes, ${sockets} sockets ==`);
    log(`group msg → last member: ${fanout.lastMs.map((ms) => ms.toFixed(1)).join(', ')} ms (median member ${fanout.medianMs.map((ms) => ms.toFixed(1)).join(', ')}), missed ${fanout.missing.reduce((a, b) => a + b, 0)}`);
    log(`group: ${(groupPublishes / repeats).toFixed(1)} Redis publishes a message (1 = to the other node only)`);
    log(`1:1 across nodes: ${direct.sent} sent, ${Math.round(direct.ackedPerSecond)} acked/s, ${direct.delivered} delivered, ${direct.failures} refused; p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`);
    log(`1:1: ${(directPublishes / Math.max(1, direct.sent)).toFixed(2)} Redis publishes a message; node CPU ${nodeCpu.map((s) => Math.round((s / Math.max(1, direct.sent)) * 1e6)).join(' + ')} µs a message; steal ${stealPercent(machine).toFixed(1)}%`);
    const perMessage = (n: number) => n / Math.max(1, direct.sent);
    log(`1:1: Redis ${perMessage(redisAfter.commands - redisBefore.commands).toFixed(2)} commands and ${Math.round(perMessage(redisAfter.cpu - redisBefore.cpu) * 1e6)} µs CPU a message`);
    await client.closeAll();
    redis.disconnect();
  } finally {
    for (const t of targets) await t.stop();
    for (const s of services) {
      if (s.child) await stopProcess(s.child);
      if (s.dir) rmSync(s.dir, { recursive: true, force: true });
    }
    await bench.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error('cluster bench failed:', err);
  process.exit(1);
});
