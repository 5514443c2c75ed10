import { percentile } from './load-client.js';
import type { PhaseCost } from './workers-host.js';

/** One step of the 1:1 rate ladder, all load processes together. */
export interface Step {
  rate: number;
  sent: number;
  acks: number;
  delivered: number;
  failures: number;
  /** Send → receipt on the recipient (ms), sorted. */
  latencies: Float64Array;
  /** Sum over the load processes of acks / (last ack − first send). */
  ackedPerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Friend messages the database gained during the step. */
  persisted: number;
  /** CPU µs per sent message: workers, supervisor, mariadbd, redis, etcd, load, bench. */
  cpuMicros: Record<string, number>;
  /** The step's CPU per part, and the machine's busy share and what others used meanwhile. */
  cost: PhaseCost;
  /** Redis commands per sent message (INFO commandstats), those at ≥ 0.01. */
  redisPerMessage: Record<string, number>;
  firstFailure: string | undefined;
  /** Every message acked and delivered, at ≥ 95 % of the rate. */
  kept?: boolean;
  /** Kept, and p99 within the target. */
  met?: boolean;
}

export interface WorkersRun {
  users: number;
  groupSize: number;
  workerCount: number;
  loadCount: number;
  duration: number;
  warmup: number;
  flush: string;
  machine: string;
  loadAtStart: number[];
  loadAtEnd: number[];
  opened: number;
  failed: number;
  signInsPerSecond: number;
  /** Sum of the workers' RSS before the sockets and with them (bytes). */
  rssBefore: number;
  rssAfter: number;
  /** Open file descriptors of each worker with the sockets. */
  fds: number[];
  /** Signing in, 5 s idle with the sockets open, and the group messages. */
  phases: { open: PhaseCost; idle: PhaseCost; fanout: PhaseCost };
  fanout: { lastMs: number[]; medianMs: number[]; missing: number[] };
  steps: Step[];
  /** Acks over the warm-up and every step, and the friend messages in the database at the end. */
  ackedTotal: number;
  inDatabase: number;
  /** A worker was replaced during the run (its supervisor restarted it). */
  restarted: boolean;
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 0.5);
const fixed = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

/** The run's tables and the issue's targets for one machine with several workers. */
export function printResults(log: (line: string) => void, run: WorkersRun, p99TargetMs: number): void {
  const perSocketKb = (run.rssAfter - run.rssBefore) / Math.max(1, run.opened) / 1024;
  log(`\n== results: 1 weim process, ${run.workerCount} workers, ${run.users} sockets, ${run.loadCount} load processes, MariaDB innodb_flush_log_at_trx_commit=${run.flush} ==`);
  log(`machine: ${run.machine}; load average at start ${run.loadAtStart.map((l) => l.toFixed(2)).join(' ')}, at end ${run.loadAtEnd.map((l) => l.toFixed(2)).join(' ')}`);
  log(`signed in ${run.opened} (${run.failed} failed), ${Math.round(run.signInsPerSecond)} sign-ins/s; open files per worker ${run.fds.join(', ')}`);
  log(`workers' RSS ${fixed(run.rssBefore / 2 ** 20)} → ${fixed(run.rssAfter / 2 ** 20)} MiB: ${perSocketKb.toFixed(2)} KB per signed-in socket`);
  const { idle, open, fanout } = run.phases;
  log(`idle CPU with the sockets open (cores): ${Object.entries(idle.cpu).map(([k, v]) => `${k} ${(v / idle.seconds).toFixed(3)}`).join(', ')}`);
  log(`others on the machine (cores): ${open.otherCores.toFixed(2)} while signing in, ${idle.otherCores.toFixed(2)} idle, ${fanout.otherCores.toFixed(2)} during the group messages`);
  log(`group → last of ${run.groupSize - 1} (ms): ${run.fanout.lastMs.map((v) => fixed(v)).join(', ')}; median member: ${run.fanout.medianMs.map((v) => fixed(v)).join(', ')}; missed ${run.fanout.missing.join(', ')}`);

  const parts = ['workers', 'supervisor', 'mariadbd', 'redis', 'etcd', 'load', 'bench'];
  log(`\n1:1 steps (CPU: µs per sent message; busy: the whole machine, %; others: cores busy outside this bench; ok: yes, or what missed)`);
  log(['rate/s', 'sent', 'acked/s', 'delivered', 'refused', 'in DB', 'p50 ms', 'p99 ms', 'max ms', ...parts, 'busy', 'others', 'ok'].map((h) => h.padStart(11)).join(''));
  for (const s of run.steps) {
    const cells = [s.rate, s.sent, Math.round(s.ackedPerSecond), s.delivered, s.failures, s.persisted].map(String);
    cells.push(fixed(s.p50), fixed(s.p99), fixed(s.max), ...parts.map((p) => String(Math.round(s.cpuMicros[p] ?? 0))), fixed(s.cost.busyPercent, 0), fixed(s.cost.otherCores, 2), s.met ? 'yes' : s.kept ? 'p99' : 'rate');
    log(cells.map((c) => c.padStart(11)).join(''));
  }
  log(`1:1 acked over warm-up and steps: ${run.ackedTotal}; friend messages in the database: ${run.inDatabase} (${run.inDatabase >= run.ackedTotal ? '0 lost' : `${run.ackedTotal - run.inDatabase} LOST`})`);
  if (run.restarted) log('a worker was restarted during the run (see the server log)');
  const failure = run.steps.find((s) => s.firstFailure)?.firstFailure;
  if (failure) log(`first refusal: ${failure}`);

  const best = run.steps.filter((s) => s.met).map((s) => s.rate);
  const highest = best.length > 0 ? Math.max(...best) : 0;
  const checks: Array<[string, boolean]> = [
    [`${run.users} signed-in sockets on one machine`, run.opened === run.users],
    ['RSS per signed-in socket ≤ 8 KB (workers together)', perSocketKb <= 8],
    [`group message to the last of ${run.groupSize - 1} ≤ 500 ms (median of ${run.fanout.lastMs.length}: ${fixed(median(run.fanout.lastMs))} ms), none missed`, median(run.fanout.lastMs) <= 500 && run.fanout.missing.every((m) => m === 0)],
    [`highest persisted 1:1 rate with p99 ≤ ${p99TargetMs} ms ≥ 6,000/s (here: ${highest}/s)`, highest >= 6000],
    ['0 acked 1:1 messages lost', run.inDatabase >= run.ackedTotal],
  ];
  log('\ntargets:');
  for (const [label, ok] of checks) log(`  ${ok ? 'MET ' : 'MISS'}  ${label}`);
}
