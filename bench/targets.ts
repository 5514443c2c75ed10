import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopProcess, waitUntil } from '../test/setup/processes.js';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** A server under load, in its own process so its memory is measured alone. */
export interface Target {
  name: 'weim' | 'baseline';
  /** ws://127.0.0.1:<port>/ws */
  wsUrl: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * What a weim node under load runs with: the repository's config on loopback, the bench's JWT
 * secret (its tokens are signed with it), quiet logs, no send rate limit, groups as large as the
 * bench's, plus `WEIM_BENCH_SERVER_ENV` ("KEY=value KEY2=value") for a run's own overrides.
 */
export function benchNodeEnv(secret: string, sockets: number): Record<string, string> {
  const extra = (process.env.WEIM_BENCH_SERVER_ENV ?? '').split(' ').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]);
  return {
    WEIM_CONFIG: join(repoRoot, 'config.yml'),
    WEIM_SERVER_HOST: '127.0.0.1',
    WEIM_AUTH_JWT_SECRET: secret,
    WEIM_LOG_LEVEL: 'warn',
    WEIM_MESSAGES_SEND_MAX_PER_10S: '10000000',
    // Every socket of a bench comes from 127.0.0.1.
    WEIM_GATEWAY_MAX_SOCKETS_PER_IP: '0',
    WEIM_GROUPS_MAX_MEMBERS: String(Math.max(sockets, 10_000)),
    // A bench stops its server when done: no drain to wait for.
    WEIM_SERVER_DRAIN_DELAY_MS: '0',
    WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '1000000',
    ...Object.fromEntries(extra),
  };
}

/** WEIM_BENCH_SERVER_ARGS: extra node flags for the servers a bench starts, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof". */
export function benchServerFlags(): string[] {
  return (process.env.WEIM_BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
}

let built = false;

/**
 * The arguments that start a weim node: `dist/main.js`, what `npm start` runs, built first when a
 * source is newer than it (scripts/build.mjs, once a process); with WEIM_BENCH_FROM_SOURCE=1,
 * `src/main.ts` through tsx. From the sources every start pays tsx's compiling (4.3–4.9 CPU
 * seconds against 2.35 from dist/ here), which a rolling restart takes from the nodes that stay up.
 */
export function weimNodeArgs(): string[] {
  if (process.env.WEIM_BENCH_FROM_SOURCE === '1') return ['--import', 'tsx', 'src/main.ts'];
  if (!built) {
    const entry = join(repoRoot, 'dist', 'main.js');
    const builtAt = statSync(entry, { throwIfNoEntry: false })?.mtimeMs ?? 0;
    if (['src', 'migrations', 'web'].some((dir) => newestIn(join(repoRoot, dir)) > builtAt)) {
      process.stdout.write('bench: building dist/ (the sources changed since it was built)\n');
      const run = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
      if (run.status !== 0) throw new Error('bench: the build failed (npm run build)');
    }
    built = true;
  }
  return ['dist/main.js'];
}

/** The latest modification time (ms) of any file under `dir`. */
function newestIn(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Starts a node process on `script` (`src/main.ts`: a weim node as `weimNodeArgs` starts it; else
 * `node --import tsx <script>`) from the repository root with `env` on top of this process's
 * environment, and waits until `http://127.0.0.1:<port>/healthz` answers 200.
 */
export async function startTarget(name: Target['name'], script: string, port: number, env: Record<string, string>): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, [...benchServerFlags(), ...(script === 'src/main.ts' ? weimNodeArgs() : ['--import', 'tsx', script])], {
    cwd: repoRoot,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitUntil(name, async () => {
    if (exited) throw new Error('exited');
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  }, 60_000, () => (exited ? `${name} exited with ${child.exitCode}` : `${name} did not answer /healthz`));
  if (exited) throw new Error(`${name} exited during start (code ${child.exitCode})`);
  return { name, wsUrl: `ws://127.0.0.1:${port}/ws`, pid: child.pid!, stop: () => stopProcess(child) };
}

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

/** CPU time a process has used so far (user + system), in seconds, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number, thread?: number): number {
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat (utime, stime) are at 11 and 12 after the command; clock ticks of 1/100 s.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The machine's CPU time counters (/proc/stat, all cores, clock ticks): total and stolen. */
export function cpuTicks(): { total: number; steal: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal guest guest_nice; guest time is inside user.
  return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
}

/**
 * Percent of the machine's CPU time the hypervisor gave to someone else since `since`: on a
 * shared host, the figure that says how much of a slow run was the machine, not the code.
 */
export function stealPercent(since: { total: number; steal: number }): number {
  const now = cpuTicks();
  return now.total > since.total ? (100 * (now.steal - since.steal)) / (now.total - since.total) : 0;
}

/** TCP sockets in TIME_WAIT on this machine (`tw` of /proc/net/sockstat). */
export function timeWaitCount(): number {
  const match = /^TCP:.*\btw (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return match ? Number(match[1]) : 0;
}

/**
 * Waits until few sockets are in TIME_WAIT (leftovers cut the next connect burst 2–5×), at most
 * `maxMs`; returns the count it stopped at.
 */
export async function waitForTimeWait(log: (line: string) => void, few = 1000, maxMs = 150_000): Promise<number> {
  const deadline = Date.now() + maxMs;
  let count = timeWaitCount();
  let said = 0;
  while (count > few && Date.now() < deadline) {
    if (Date.now() - said > 10_000) {
      log(`  waiting for TIME_WAIT to clear: ${count} sockets`);
      said = Date.now();
    }
    await sleep(1000);
    count = timeWaitCount();
  }
  return count;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
