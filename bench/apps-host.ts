import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from './load-client.js';
import { repoRoot, sleep } from './targets.js';

/** A forked load process (bench/apps-load.ts or bench/workers-load.ts) and its request/reply channel. */
export class LoadProcess {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly child: ChildProcess;

  constructor(readonly name: string, script: string) {
    this.child = fork(join(repoRoot, script), [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', env: { ...process.env, WEIM_LOAD_INDEX: name } });
    this.child.on('message', (message: unknown) => {
      const reply = message as { id: number; result?: unknown; error?: string };
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) waiting?.reject(new Error(`${name}: ${reply.error}`));
      else waiting?.resolve(reply.result);
    });
    // 'close', not 'exit': the channel is read to its end first (see bench/workers.ts).
    this.child.once('close', (code) => {
      for (const w of this.pending.values()) w.reject(new Error(`${name} exited with ${code}`));
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

export interface AppStats {
  presence: number;
  offline: number;
  other: number;
  closed: number;
  bytes: number;
  cpu: number;
}

/** The app load processes' counters, summed. */
export async function appStats(loads: LoadProcess[]): Promise<AppStats> {
  const all = await Promise.all(loads.map((l) => l.request<AppStats>('stats')));
  const sum = (k: keyof AppStats) => all.reduce((s, a) => s + a[k], 0);
  return { presence: sum('presence'), offline: sum('offline'), other: sum('other'), closed: sum('closed'), bytes: sum('bytes'), cpu: sum('cpu') };
}

/** A woodylan-style backend call (unsigned: the bench calls from a trusted network). */
export async function appCall(base: string, route: string, body: unknown): Promise<{ code: number; msg: string; data: unknown }> {
  const res = await fetch(`${base}/api/${route}`, { method: 'POST', headers: { 'content-type': 'application/json', SystemId: 'bench' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status} ${text.slice(0, 200)}`);
  return JSON.parse(text) as { code: number; msg: string; data: unknown };
}

export interface BindResult {
  /** Binds answered code 0 (a bind carried to the other node is answered once it is on the bus). */
  bound: number;
  failed: number;
  firstFailure: string | undefined;
  /** First bind sent → last bind answered. */
  seconds: number;
  /** First bind sent → no more 1001 frames arriving (every member had every presence notice). */
  drainedSeconds: number;
  /** 1001 frames the members received while binding. */
  presence: number;
  presenceBytes: number;
  /** Seconds the binding waited for the members to catch up with the presence frames. */
  throttledSeconds: number;
  /** Per tenth of the binds: [binds so far, seconds for this tenth]. */
  steps: Array<[number, number]>;
  /** When each bind was answered (epoch ms; 0: not sent). */
  answeredAt: Float64Array;
}

/**
 * Binds `clientIds` to `group` in order, `concurrency` calls in flight, call i to `bases[i % n]`
 * (so about half are carried over the bus to the connection's node). Each bind sends 1001 to every
 * member already bound, so k binds mean about k(k+1)/2 frames: binding waits while more than
 * `maxBacklog` of them are owed to the members (so the nodes do not queue gigabytes for sockets
 * that read slower than the nodes write), and stops starting binds after `budgetMs`.
 */
export async function bindAll(o: { bases: string[]; group: string; clientIds: string[]; concurrency: number; maxBacklog: number; budgetMs: number; loads: LoadProcess[]; log: (line: string) => void }): Promise<BindResult> {
  const before = await appStats(o.loads);
  const started = performance.now();
  let received = 0;
  let polling = true;
  const poller = (async () => {
    while (polling) {
      received = (await appStats(o.loads)).presence - before.presence;
      await sleep(250);
    }
  })();
  let next = 0;
  let bound = 0;
  let failed = 0;
  let firstFailure: string | undefined;
  let throttled = 0;
  let lastAnswer = started;
  const steps: Array<[number, number]> = [];
  let stepStart = started;
  const tenth = Math.max(1, Math.ceil(o.clientIds.length / 10));
  const answeredAt = new Float64Array(o.clientIds.length);
  const worker = async () => {
    while (next < o.clientIds.length && performance.now() - started < o.budgetMs) {
      const i = next++;
      const owed = ((i + 1) * (i + 2)) / 2 - received;
      if (owed > o.maxBacklog) {
        const waitFrom = performance.now();
        while ((((i + 1) * (i + 2)) / 2 - received) > o.maxBacklog && performance.now() - waitFrom < 60_000) await sleep(50);
        throttled += (performance.now() - waitFrom) / 1000;
      }
      try {
        const answer = await appCall(o.bases[i % o.bases.length]!, 'bind_to_group', { clientId: o.clientIds[i], groupName: o.group });
        if (answer.code === 0) bound++;
        else {
          failed++;
          firstFailure ??= JSON.stringify(answer);
        }
      } catch (err) {
        failed++;
        firstFailure ??= err instanceof Error ? err.message : String(err);
      }
      lastAnswer = performance.now();
      answeredAt[i] = performance.timeOrigin + lastAnswer;
      const done = bound + failed;
      if (done % tenth === 0 || done === o.clientIds.length) {
        steps.push([done, (lastAnswer - stepStart) / 1000]);
        o.log(`  bound ${done}/${o.clientIds.length} after ${((lastAnswer - started) / 1000).toFixed(1)} s (this step ${((lastAnswer - stepStart) / 1000).toFixed(1)} s); 1001 frames received ${received} of ~${(done * (done + 1)) / 2}`);
        stepStart = lastAnswer;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (lastAnswer - started) / 1000;
  // The presence frames still on their way: done when no 1001 arrived for 3 s (at most 15 minutes).
  let last = -1;
  let stillSince = performance.now();
  let drainedAt = performance.now();
  while (performance.now() - stillSince < 3000 && performance.now() - started < o.budgetMs + 900_000) {
    await sleep(500);
    if (received !== last) {
      last = received;
      stillSince = drainedAt = performance.now();
    }
  }
  polling = false;
  await poller;
  const after = await appStats(o.loads);
  return {
    bound, failed, firstFailure, seconds, steps, answeredAt, throttledSeconds: throttled,
    drainedSeconds: (drainedAt - started) / 1000,
    presence: after.presence - before.presence,
    presenceBytes: after.bytes - before.bytes,
  };
}

/**
 * Polls each node's /healthz (answered on its event loop, nothing else) every 250 ms until
 * `stop()`: how long a node's loop kept it waiting, the figure that says whether it could renew
 * its etcd lease (cluster.lease_seconds) and answer pings meanwhile.
 */
export function pollHealth(bases: string[]): { stop: () => Promise<Array<{ max: number; p99: number; over1s: number; over5s: number; samples: number }>> } {
  let running = true;
  const loops = bases.map(async (base) => {
    const latencies: number[] = [];
    while (running) {
      const t = performance.now();
      try {
        await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(60_000) });
      } catch {
        // counted by its latency (a timeout is 60 s)
      }
      latencies.push(performance.now() - t);
      await sleep(250);
    }
    latencies.sort((a, b) => a - b);
    return { max: latencies.at(-1) ?? Number.NaN, p99: percentile(latencies, 0.99), over1s: latencies.filter((l) => l > 1000).length, over5s: latencies.filter((l) => l > 5000).length, samples: latencies.length };
  });
  return {
    stop: () => {
      running = false;
      return Promise.all(loops);
    },
  };
}

/** One path's group messages: ms from the send to the last and the median member, and the members missed. */
export interface Fanout {
  lastMs: number[];
  medianMs: number[];
  missed: number[];
  /** Redis PUBLISH calls during each message. */
  publishes: number[];
  /** CPU seconds of the two nodes in a fixed window from just before each send. */
  nodeCpu: Array<[number, number]>;
}

export const emptyFanout = (): Fanout => ({ lastMs: [], medianMs: [], missed: [], publishes: [], nodeCpu: [] });

/** Adds one message's arrivals (epoch ms, -1 missed, gathered from every load process) sent at `at`. */
export function record(f: Fanout, at: number, arrivals: Float64Array[], expected: number, publishes: number, nodeCpu: [number, number]): string {
  const times = arrivals.flatMap((a) => Array.from(a).filter((x) => x >= 0).map((x) => x - at)).sort((a, b) => a - b);
  f.lastMs.push(times.at(-1) ?? Number.NaN);
  f.medianMs.push(percentile(times, 0.5));
  f.missed.push(expected - times.length);
  f.publishes.push(publishes);
  f.nodeCpu.push(nodeCpu);
  return `last of ${times.length}/${expected} after ${f.lastMs.at(-1)!.toFixed(1)} ms (median ${f.medianMs.at(-1)!.toFixed(1)} ms), ${publishes} Redis publishes, node CPU ${nodeCpu.map((s) => (s * 1000).toFixed(0)).join(' + ')} ms`;
}

/** The median of some numbers (not sorted in place). */
export function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One line of a path's figures for the results. */
export function describeFanout(name: string, f: Fanout): string {
  const ms = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(', ');
  const cpu = f.nodeCpu.map(([a, b]) => `${Math.round(a * 1000)}+${Math.round(b * 1000)}`).join(', ');
  return `${name}: → last ${ms(f.lastMs)} ms (median of them ${median(f.lastMs).toFixed(1)}); → median member ${ms(f.medianMs)} ms; missed ${f.missed.join(', ')}; Redis publishes ${f.publishes.join(', ')}; node CPU ms in 2 s from the send (1 + 2) ${cpu}`;
}
