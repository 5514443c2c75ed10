import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { formatReport, violations } from '../test/chaos/report.js';
import { abortAll, type FaultName, longProfile, type Profile, runChaos, shortProfile } from '../test/chaos/scenario.js';

/**
 * Chaos bench: the suite's scenario (test/chaos/) with the long profile by default: 3 weim nodes
 * on private MariaDB, Redis and etcd, steady socket traffic, and node SIGKILL, Redis restart
 * (keys lost), etcd outage and MariaDB restart, twice. Prints the report and the machine; exits 1
 * on any violation (lost, duplicated, out of order, acked but missing, 1500, live share < 99 %).
 *
 *   npm run bench:chaos -- [--profile long|short] [--faults kill,redis,etcd,mariadb,restart|none]
 *                          [--rate 150] [--users 60] [--rounds 2] [--etcd-down 30] [--recovery 15]
 */
const { values: args } = parseArgs({
  options: {
    profile: { type: 'string', default: 'long' },
    faults: { type: 'string' },
    rate: { type: 'string' },
    users: { type: 'string' },
    rounds: { type: 'string' },
    'etcd-down': { type: 'string' },
    recovery: { type: 'string' },
    baseline: { type: 'string' },
  },
  strict: true,
});
const log = (line: string) => process.stdout.write(`${line}\n`);
const known: FaultName[] = ['kill', 'redis', 'etcd', 'mariadb', 'restart'];

function profileFromArgs(): Profile {
  const base = args.profile === 'short' ? shortProfile : args.profile === 'long' ? longProfile : undefined;
  if (!base) throw new Error(`--profile must be short or long, not ${args.profile}`);
  const p: Profile = { ...base };
  const num = (v: string | undefined, name: string, lo: number, hi: number) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < lo || n > hi) throw new Error(`--${name} must be a number in ${lo}..${hi}`);
    return n;
  };
  if (args.faults !== undefined) {
    const list = args.faults === 'none' ? [] : args.faults.split(',').map((s) => s.trim());
    for (const f of list) if (!known.includes(f as FaultName)) throw new Error(`unknown fault ${f} (known: ${known.join(', ')})`);
    p.faults = list as FaultName[];
  }
  p.rate = num(args.rate, 'rate', 1, 2000) ?? p.rate;
  p.users = num(args.users, 'users', 30, 1000) ?? p.users;
  p.twoDeviceUsers = Math.max(10, Math.floor(p.users / 3));
  p.rounds = num(args.rounds, 'rounds', 1, 10) ?? p.rounds;
  p.etcdDownSeconds = num(args['etcd-down'], 'etcd-down', 1, 300) ?? p.etcdDownSeconds;
  p.recoverySeconds = num(args.recovery, 'recovery', 3, 600) ?? p.recoverySeconds;
  p.baselineSeconds = num(args.baseline, 'baseline', 1, 600) ?? p.baselineSeconds;
  return p;
}

async function main(): Promise<number> {
  const profile = profileFromArgs();
  log(`chaos bench: profile ${profile.name}, ${profile.users} users (${profile.twoDeviceUsers} with 2 devices), ${profile.rate} msg/s, ` +
    `faults [${profile.faults.join(', ')}] × ${profile.rounds}, etcd down ${profile.etcdDownSeconds} s`);
  log(`machine: ${cpus().length} cores, CPU ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`);
  const result = await runChaos(profile, log);
  log('');
  log(formatReport(result.report, `chaos bench (${profile.name})`));
  log(`faults: ${result.faults.map((f) => `${f.name}: ${f.note}`).join('; ')}`);
  log(`setup ${(result.setupMs / 1000).toFixed(1)} s, total ${(result.totalMs / 1000).toFixed(1)} s, sends skipped (devices saturated) ${result.skippedSends}`);
  log(`host CPU: ${cpus()[0]?.model ?? '?'}`);
  const failed = violations(result.report);
  if (failed.length === 0) {
    log('PASS: nothing lost, duplicated or out of order; every post-fault window ≥ 99 % live');
    return 0;
  }
  log(`FAIL: ${failed.join('; ')}`);
  log(`\nnode and service output (tails):\n${result.logs}`);
  return 1;
}

// Ctrl-C: stop the services and nodes the run started before leaving.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: stopping the run`);
    void abortAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error('chaos bench failed:', err);
    process.exit(2);
  },
);
