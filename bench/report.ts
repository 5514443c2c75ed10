import { type DirectResult, type FanoutResult, type OpenResult, percentile } from './load-client.js';

/** Everything measured against one server. */
export interface TargetResult {
  name: 'weim' | 'baseline';
  open: OpenResult;
  rssBefore: number;
  rssAfter: number;
  fanout: FanoutResult;
  direct: DirectResult;
  /** Server CPU time (user + system) used during the 1:1 phase, drain included. */
  directCpuSeconds: number;
  /** weim: friend messages in the database at the end. */
  persisted: number | undefined;
}

export interface Run {
  sockets: number;
  rate: number;
  duration: number;
  /** Seconds of unmeasured 1:1 load before the measured phase. */
  warmup: number;
  dialect: string;
  /** MariaDB's innodb_flush_log_at_trx_commit, when on MariaDB. */
  flush: string | undefined;
  results: TargetResult[];
}

interface Row {
  label: string;
  value: (r: TargetResult) => number;
  digits: number;
}

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 0.5);
const perSocketKb = (r: TargetResult) => (r.rssAfter - r.rssBefore) / Math.max(1, r.open.opened) / 1024;
const groupMedian = (r: TargetResult) => median(r.fanout.lastMs);

const rows: Row[] = [
  { label: 'signed-in sockets', value: (r) => r.open.opened, digits: 0 },
  { label: 'sign-ins/s', value: (r) => r.open.perSecond, digits: 0 },
  { label: 'server RSS before sockets (MiB)', value: (r) => r.rssBefore / 2 ** 20, digits: 1 },
  { label: 'server RSS with sockets (MiB)', value: (r) => r.rssAfter / 2 ** 20, digits: 1 },
  { label: 'RSS per idle signed-in socket (KB)', value: perSocketKb, digits: 2 },
  { label: 'group msg → last member, median (ms)', value: groupMedian, digits: 1 },
  { label: 'group msg → last member, best (ms)', value: (r) => Math.min(...r.fanout.lastMs), digits: 1 },
  { label: 'group msg → median member (ms)', value: (r) => median(r.fanout.medianMs), digits: 1 },
  { label: 'group members missed', value: (r) => r.fanout.missing.reduce((a, b) => a + b, 0), digits: 0 },
  { label: '1:1 sent', value: (r) => r.direct.sent, digits: 0 },
  { label: '1:1 acked msgs/s', value: (r) => r.direct.ackedPerSecond, digits: 0 },
  { label: '1:1 delivered', value: (r) => r.direct.delivered, digits: 0 },
  { label: '1:1 refused (Cmd 2)', value: (r) => r.direct.failures, digits: 0 },
  { label: '1:1 latency p50 (ms)', value: (r) => percentile(r.direct.latencies, 0.5), digits: 1 },
  { label: '1:1 latency p99 (ms)', value: (r) => percentile(r.direct.latencies, 0.99), digits: 1 },
  { label: '1:1 latency max (ms)', value: (r) => percentile(r.direct.latencies, 1), digits: 1 },
  { label: 'server CPU per 1:1 msg (µs)', value: (r) => (r.directCpuSeconds / Math.max(1, r.direct.sent)) * 1e6, digits: 0 },
];

/** Prints the figures side by side (weim, baseline, weim/baseline) and the targets. */
export function printReport(log: (line: string) => void, run: Run): void {
  const weim = run.results.find((r) => r.name === 'weim')!;
  const baseline = run.results.find((r) => r.name === 'baseline');
  const flush = run.flush === undefined ? '' : `, innodb_flush_log_at_trx_commit=${run.flush}`;
  const warmedUp = run.warmup > 0 ? `, after ${run.warmup} s of warm-up` : '';
  log(`\n== results: ${run.sockets} sockets, ${run.dialect}${flush}, 1:1 at ${run.rate}/s for ${run.duration} s${warmedUp} ==`);
  log(`${'figure'.padEnd(40)}${'weim'.padStart(12)}${baseline ? 'baseline'.padStart(12) + 'ratio'.padStart(9) : ''}`);
  for (const row of rows) {
    const w = row.value(weim);
    const line = `${row.label.padEnd(40)}${w.toFixed(row.digits).padStart(12)}`;
    if (!baseline) {
      log(line);
      continue;
    }
    const b = row.value(baseline);
    log(`${line}${b.toFixed(row.digits).padStart(12)}${(b === 0 ? '-' : (w / b).toFixed(2) + '×').padStart(9)}`);
  }
  if (weim.persisted !== undefined) log(`${'1:1 messages in the database'.padEnd(40)}${String(weim.persisted).padStart(12)}`);

  const p99 = percentile(weim.direct.latencies, 0.99);
  const checks: Array<[string, boolean | undefined]> = [
    [`${run.sockets} signed-in sockets on one node`, weim.open.opened === run.sockets],
    ['≤ 10 KB server RSS per idle signed-in socket', perSocketKb(weim) <= 10],
    ['group message to the last member ≤ 1.3 × baseline', baseline ? groupMedian(weim) <= 1.3 * groupMedian(baseline) : undefined],
    [`≥ ${Math.min(run.rate, 5000)} persisted 1:1 msgs/s`, weim.direct.ackedPerSecond >= Math.min(run.rate, 5000) * 0.98 && (weim.persisted ?? 0) >= weim.direct.acks],
    ['1:1 p99 ≤ 50 ms', p99 <= 50 && weim.direct.delivered >= weim.direct.sent],
  ];
  log('\ntargets:');
  for (const [label, ok] of checks) log(`  ${ok === undefined ? 'n/a ' : ok ? 'MET ' : 'MISS'}  ${label}`);
  if (weim.direct.firstFailure) log(`first refusal: ${weim.direct.firstFailure}`);
}
