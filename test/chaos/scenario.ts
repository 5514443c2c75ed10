import { writeFileSync } from 'node:fs';
import { DRAIN_CLOSES_PER_SECOND } from './drain.js';
import type { DeviceRecord } from './records.js';
import { type Cluster, LEASE_SECONDS, startCluster } from './nodes.js';
import { KILLED_NODE, type Population, populate } from './population.js';
import { type Rig, startRig } from './rig.js';
import { readTruth } from './truth.js';
import { type FaultRecord, type Report, verify } from './verify.js';

export type FaultName = 'kill' | 'redis' | 'etcd' | 'mariadb' | 'restart';

export interface Profile {
  name: string;
  users: number;
  /** Users 0..twoDeviceUsers-1 have a second device on another node. */
  twoDeviceUsers: number;
  /** Sends per second over all devices. */
  rate: number;
  baselineSeconds: number;
  /** Traffic after each fault's end before the next fault (the window starts 2 s after the end). */
  recoverySeconds: number;
  /**
   * Messages each n2 device writes right before n2 is SIGKILLed, one to each of this many
   * burst-only friends (one message per conversation per kill)…
   */
  burstPerDevice: number;
  /**
   * …as soon as this many of the burst's sends are acked (n2 is then in the middle of the burst:
   * some stored and pushed, some stored and not yet pushed, some not stored), at most 5 s after
   * they were written… (a fixed delay after the writes was too short to store anything on a
   * slower host, and on a faster one would miss the moment when commits are not yet pushed)
   */
  killAfterAcks: number;
  /** …plus this long (0: from the ack's own handler). */
  killDelayMs: number;
  redisDownSeconds: number;
  etcdDownSeconds: number;
  mariadbDownSeconds: number;
  /** The fault sequence (run `rounds` times); [] = a no-fault control run. */
  faults: FaultName[];
  rounds: number;
  /** After traffic stops: bound on waiting for every send to be answered. */
  drainSeconds: number;
  /** A device with this many unanswered sends gets no new ones (the rate then dips). */
  maxPendingPerDevice: number;
}

export const shortProfile: Profile = {
  name: 'short', users: 30, twoDeviceUsers: 10, rate: 40, baselineSeconds: 6, recoverySeconds: 7, burstPerDevice: 3, killAfterAcks: 1, killDelayMs: 0,
  redisDownSeconds: 1, etcdDownSeconds: 30, mariadbDownSeconds: 5, faults: ['kill', 'redis', 'etcd', 'mariadb', 'restart'], rounds: 1,
  drainSeconds: 20, maxPendingPerDevice: 30,
};

export const longProfile: Profile = {
  ...shortProfile, name: 'long', users: 60, twoDeviceUsers: 20, rate: 150, baselineSeconds: 15, recoverySeconds: 15, rounds: 2,
};

export interface RunResult {
  report: Report;
  faults: FaultRecord[];
  devices: DeviceRecord[];
  /** Sends the traffic could not place (every device at maxPendingPerDevice or rehoming). */
  skippedSends: number;
  setupMs: number;
  totalMs: number;
  /** Tail of every node's output and of the services' (for failure messages). */
  logs: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Steady sends at `rate`/s, round-robin over the devices, each cycling over its own targets. */
function startTraffic(pop: Population, rate: number, maxPending: number) {
  const start = Date.now();
  let issued = 0;
  let next = 0;
  let skipped = 0;
  const step = new Map(pop.devices.map((d) => [d, 0]));
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - start) * rate) / 1000) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      let placed = false;
      for (let tries = 0; tries < pop.devices.length && !placed; tries++) {
        const d = pop.devices[next++ % pop.devices.length]!;
        const targets = pop.targets.get(d)!;
        if (d.wantHome || d.pendingCount >= maxPending || targets.length === 0) continue;
        const n = step.get(d)!;
        step.set(d, n + 1);
        const t = targets[n % targets.length]!;
        void d.send(t.toId, t.ope);
        placed = true;
      }
      if (!placed) skipped++;
    }
  }, 20);
  // Once a second every member of one group (in turn) writes to it at once, from devices on all
  // three nodes: commits of one conversation through several nodes within a millisecond, whose
  // frames cross on their way to the other nodes (what in-order live delivery must handle).
  let round = 0;
  const chorus = setInterval(() => {
    const groupId = pop.groupIds[round++ % pop.groupIds.length]!;
    const members = new Set(pop.users.filter((u) => u.groups.includes(groupId)).map((u) => u.id));
    const spoke = new Set<number>();
    for (const d of pop.devices) {
      if (!members.has(d.rec.userId) || spoke.has(d.rec.userId) || d.wantHome || d.pendingCount >= maxPending) continue;
      spoke.add(d.rec.userId);
      void d.send(groupId, 1);
    }
  }, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      clearInterval(chorus);
    },
    skipped: () => skipped,
    start,
  };
}

/** Resolves once `check` holds, or after `ms` (returns whether it held). */
async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Burst + SIGKILL: every device signed in on n2 writes one message to each of its `burst`
 * burst-only friends (population.ts: friendships on other nodes no other message ever goes to),
 * and n2 is SIGKILLed as soon as `afterAcks` of those sends are acked (+ `delayMs`; after 5 s
 * anyway): n2 is then in the middle of the burst, some of it stored and pushed, some stored and
 * not pushed yet, some not stored (resent elsewhere). What it stored but never pushed can reach the
 * other nodes' sockets only through the survivors' repair on its death: no later message reveals
 * the gap. The devices signed in elsewhere at the SIGKILL are recorded; each must get every burst
 * message live within lease + 2 s (+ 1 s slack) of it (burst.ts). After lease + 3 s n2 starts again
 * under the same id and port; devices homed there (reconnected elsewhere meanwhile) go back home
 * once they have nothing in flight.
 */
async function killN2(cluster: Cluster, pop: Population, burst: number, afterAcks: number, delayMs: number): Promise<FaultRecord> {
  const n2 = cluster.nodes[KILLED_NODE]!;
  const startAt = Date.now();
  const writes: Array<Promise<void>> = [];
  let acks = 0;
  let firstAckAt = 0;
  let trigger = (_timedOut: boolean) => {};
  const triggered = new Promise<boolean>((resolve) => (trigger = resolve));
  const onAck = () => {
    if (++acks === 1) firstAckAt = Date.now();
    if (acks === afterAcks) trigger(false);
  };
  for (const d of pop.devices.filter((x) => x.connectedNode === KILLED_NODE)) {
    for (const peer of (pop.burstTargets.get(d) ?? []).slice(0, burst)) writes.push(d.send(peer.toId, peer.ope, onAck));
  }
  await Promise.all(writes);
  const written = Date.now();
  const bound = setTimeout(() => trigger(true), 5000); // a burst never acked still ends in the SIGKILL
  const timedOut = await triggered;
  clearTimeout(bound);
  if (delayMs > 0) await sleep(delayMs);
  const online = pop.devices.filter((d) => d.connectedNode !== undefined && d.connectedNode !== KILLED_NODE).map((d) => d.rec.name);
  const acked = acks;
  const downAt = await n2.kill();
  await sleep(Math.max(0, downAt + (LEASE_SECONDS + 3) * 1000 - Date.now()));
  await n2.start();
  const upAt = Date.now();
  for (const d of pop.devices) if (d.rec.home === KILLED_NODE) d.rehome(upAt + 1500);
  const note = `${writes.length} burst sends written in ${written - startAt} ms, ${timedOut ? `only ${acked}` : acked} acked ` +
    `(1st ${firstAckAt ? firstAckAt - written : '-'} ms after), SIGKILL ${downAt - written} ms after the writes`;
  return { name: 'kill-n2', startAt, downAt, upAt, note, burst: { pairs: pop.burstPairs, online, limitMs: (LEASE_SECONDS + 3) * 1000 } };
}

/**
 * Rolling restart of n2: SIGTERM (graceful: /readyz 503, then its sockets told to move with Cmd 26
 * and closed with 1012 at DRAIN_CLOSES_PER_SECOND), started again once it has exited, its devices
 * sent home. Checked: /readyz said 503 before the first socket was closed, and the sign-ins its
 * devices made at the other nodes came no faster than the drain rate allows (at most twice it in
 * any second, allowing for the devices' own 200–500 ms reconnect jitter; all at once would be a
 * storm), and, like every fault, nothing lost.
 */
async function restartN2(cluster: Cluster, pop: Population): Promise<FaultRecord> {
  const n2 = cluster.nodes[KILLED_NODE]!;
  const moving = pop.devices.filter((d) => d.connectedNode === KILLED_NODE);
  const since = moving.map((d) => d.rec.connects.length);
  const ready: Array<{ at: number; status: number }> = [];
  const probe = setInterval(() => {
    void fetch(`${n2.url}/readyz`, { signal: AbortSignal.timeout(500) }).then((r) => r.status, () => 0).then((status) => ready.push({ at: Date.now(), status }));
  }, 50);
  const startAt = Date.now();
  await n2.stop();
  const downAt = Date.now();
  clearInterval(probe);
  await n2.start();
  const upAt = Date.now();
  for (const d of pop.devices) if (d.rec.home === KILLED_NODE) d.rehome(upAt + 1500);
  const firstClose = Math.min(...moving.map((d) => d.rec.closes.find((c) => c.at >= startAt)?.at ?? Infinity), downAt);
  const moves = moving.flatMap((d, i) => d.rec.connects.slice(since[i]).filter((c) => c.node !== KILLED_NODE && c.at < upAt).slice(0, 1).map((c) => c.at));
  const perSecond = new Map<number, number>();
  for (const at of moves) {
    const second = Math.floor((at - firstClose) / 1000);
    perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
  }
  const peak = Math.max(0, ...perSecond.values());
  const problems: string[] = [];
  if (!ready.some((r) => r.status === 503 && r.at < firstClose)) problems.push('n2 /readyz did not say 503 before its first socket was closed');
  if (moves.length < moving.length) problems.push(`only ${moves.length} of ${moving.length} devices moved to another node during the drain`);
  if (peak > 2 * DRAIN_CLOSES_PER_SECOND) problems.push(`${peak} sign-ins in one second at the other nodes (drain rate ${DRAIN_CLOSES_PER_SECOND}/s): a reconnect storm`);
  const note = `SIGTERM: ${moving.length} devices moved in ${((Math.max(...moves, firstClose) - firstClose) / 1000).toFixed(1)} s, ` +
    `peak ${peak} sign-ins/s at n1+n3 (drain ${DRAIN_CLOSES_PER_SECOND}/s), stopped after ${downAt - startAt} ms`;
  return { name: 'restart-n2', startAt, downAt, upAt, note, readinessProblems: problems };
}

/**
 * Polls every node's /readyz each 200 ms while the database restarts: each must say not ready
 * (503) while it is down, and ready (200) again within 15 s of it answering.
 */
function watchReadiness(urls: string[]) {
  const samples: Array<{ at: number; node: number; status: number }> = [];
  const probe = () => urls.forEach((url, node) => {
    void fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0).then((status) => samples.push({ at: Date.now(), node, status }));
  });
  const timer = setInterval(probe, 200);
  return {
    async check(times: { downAt: number; upAt: number }): Promise<string[]> {
      const deadline = times.upAt + 15_000;
      const readyAfter = new Set<number>();
      while (readyAfter.size < urls.length && Date.now() < deadline) {
        await sleep(200);
        for (const s of samples) if (s.at > times.upAt + 500 && s.status === 200) readyAfter.add(s.node);
      }
      clearInterval(timer);
      const problems: string[] = [];
      urls.forEach((_, node) => {
        const down = samples.filter((s) => s.node === node && s.at > times.downAt + 500 && s.at < times.upAt);
        if (down.length > 0 && !down.some((s) => s.status === 503)) problems.push(`n${node + 1} /readyz never said 503 while the database was down`);
        if (!readyAfter.has(node)) problems.push(`n${node + 1} /readyz not 200 within 15 s of the database answering`);
      });
      return problems;
    },
  };
}

async function runFault(name: FaultName, profile: Profile, rig: Rig, cluster: Cluster, pop: Population): Promise<FaultRecord> {
  const startAt = Date.now();
  switch (name) {
    case 'kill':
      return killN2(cluster, pop, profile.burstPerDevice, profile.killAfterAcks, profile.killDelayMs);
    case 'redis':
      return { name: 'redis', startAt, ...(await rig.restartRedis(profile.redisDownSeconds * 1000)), note: 'SIGKILL, keys lost' };
    case 'etcd':
      return { name: 'etcd', startAt, ...(await rig.stopEtcdFor(profile.etcdDownSeconds * 1000)), note: `SIGKILL, down ${profile.etcdDownSeconds} s` };
    case 'restart':
      return restartN2(cluster, pop);
    case 'mariadb': {
      const readiness = watchReadiness(cluster.nodes.map((n) => n.url));
      const times = await rig.restartMariadb(profile.mariadbDownSeconds * 1000);
      return { name: 'mariadb', startAt, ...times, note: 'SIGTERM, same datadir', readinessProblems: await readiness.check(times) };
    }
  }
}

/**
 * The whole run: private services, 3 nodes, the population, steady traffic, the faults (each
 * followed by `recoverySeconds` of traffic), then traffic stops, every send is waited for
 * (bounded), lease + 3 s settle, and the devices' records are checked against the database.
 * Devices are NOT made to sync at the end: what they hold is what the protocol gave them.
 * Everything started is stopped in `finally`, on failure too.
 */
export async function runChaos(profile: Profile, log: (line: string) => void = () => {}): Promise<RunResult> {
  const t0 = Date.now();
  let rig: Rig | undefined;
  let cluster: Cluster | undefined;
  let pop: Population | undefined;
  let traffic: ReturnType<typeof startTraffic> | undefined;
  let aborted = false;
  const logs = () => `${cluster?.logs(40) ?? ''}\n${rig?.outputs() ?? ''}`;
  /** Stops whatever is running; safe to call twice (each resource is taken once). */
  const cleanup = async () => {
    traffic?.stop();
    const [p, c, r] = [pop, cluster, rig];
    [pop, cluster, rig] = [undefined, undefined, undefined];
    await Promise.all((p?.devices ?? []).map((d) => d.stop()));
    await c?.close().catch(() => {});
    await r?.close().catch(() => {});
  };
  const handle = { abort: async () => void ((aborted = true), await cleanup()) };
  running.add(handle);
  /** Throws once abortAll() was called, so a setup step finishing late starts nothing more. */
  const alive = <T>(value: T): T => {
    if (aborted) throw new Error('chaos run aborted');
    return value;
  };
  try {
    rig = await startRig();
    alive(log(`chaos[${profile.name}]: services up (${Date.now() - t0} ms)`));
    cluster = await startCluster(rig);
    alive(log(`chaos[${profile.name}]: 3 nodes up (${Date.now() - t0} ms)`));
    const apis = cluster.nodes.map((n) => `${n.url}/api/v1`);
    pop = alive(await populate(apis, cluster.nodes.map((n) => n.wsUrl), profile.users, profile.twoDeviceUsers, profile.burstPerDevice));
    for (const d of pop.devices) d.start();
    const devices = pop.devices;
    if (!(await waitFor(() => devices.every((d) => d.ready), 30_000))) throw new Error('devices did not all sign in and sync within 30 s');
    const setupMs = Date.now() - t0;
    log(`chaos[${profile.name}]: ${pop.users.length} users, ${devices.length} devices signed in (${setupMs} ms); traffic at ${profile.rate}/s`);

    traffic = startTraffic(pop, profile.rate, profile.maxPendingPerDevice);
    await sleep(profile.baselineSeconds * 1000);
    const faults: FaultRecord[] = [];
    for (let round = 0; round < profile.rounds; round++) {
      for (const name of profile.faults) {
        const f = alive(await runFault(name, profile, rig, cluster, pop));
        if (profile.rounds > 1) f.name = `${f.name}#${round + 1}`;
        faults.push(f);
        log(`chaos[${profile.name}]: ${f.name} down ${f.upAt - f.downAt} ms (${f.note})`);
        await sleep(profile.recoverySeconds * 1000);
      }
    }
    traffic.stop();
    const trafficEnd = Date.now();
    const drained = await waitFor(() => devices.every((d) => d.pendingCount === 0), profile.drainSeconds * 1000);
    log(`chaos[${profile.name}]: traffic stopped; sends ${drained ? 'all answered' : 'NOT all answered'} after ${Date.now() - trafficEnd} ms`);
    await sleep((LEASE_SECONDS + 3) * 1000);
    await Promise.all(devices.map((d) => d.stop()));
    const truth = await readTruth(rig.dbUrl);
    const report = verify({
      devices: devices.map((d) => d.rec), truth, faults, trafficStart: traffic.start, trafficEnd, unexpectedExits: cluster.unexpectedExits.length,
    });
    // Raw records for triage: WEIM_CHAOS_DUMP=<file> writes what the devices saw and the faults.
    if (process.env.WEIM_CHAOS_DUMP) writeFileSync(process.env.WEIM_CHAOS_DUMP, JSON.stringify({ profile, faults, trafficStart: traffic.start, trafficEnd, devices: devices.map((d) => d.rec) }));
    return { report, faults, devices: devices.map((d) => d.rec), skippedSends: traffic.skipped(), setupMs, totalMs: Date.now() - t0, logs: logs() };
  } catch (err) {
    (err as Error).message += `\n${logs()}`;
    throw err;
  } finally {
    await cleanup();
    running.delete(handle);
  }
}

const running = new Set<{ abort: () => Promise<void> }>();

/**
 * Stops every run in progress and everything it started (for afterAll after a test timeout, and
 * for SIGINT in the bench): a run left behind would leave MariaDB, Redis, etcd and nodes running.
 */
export async function abortAll(): Promise<void> {
  await Promise.all([...running].map((r) => r.abort()));
}
