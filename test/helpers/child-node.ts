import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../setup/processes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildNode {
  url: string;
  api: string;
  pid: number;
  dataDir: string;
  /** The server process's resident set size in bytes (VmRSS from /proc). */
  rss(): number;
  stop(): Promise<void>;
  /** SIGKILL: the process dies at once, leaving its connections, leases and directory entries behind. */
  kill(): Promise<void>;
}

/**
 * Runs `src/main.ts` (what `npm start` runs) in its own process on SQLite in a fresh data
 * directory, so its memory can be measured apart from the client's. Stopped with SIGTERM.
 */
export async function startChildNode(env: Record<string, string> = {}): Promise<ChildNode> {
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-child-'));
  const port = await freePort();
  // WEIM_BENCH_SERVER_ARGS: extra node flags, as for the benches' servers (bench/targets.ts), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const extra = (process.env.WEIM_BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...extra, '--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      WEIM_CONFIG: join(root, 'config.yml'),
      WEIM_DATA_DIR: dataDir,
      PORT: String(port),
      WEIM_SERVER_HOST: '127.0.0.1',
      WEIM_AUTH_BCRYPT_COST: '4',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  child.once('exit', (code, signal) => {
    exited = true;
    if (process.env.WEIM_DEBUG_CHILD) console.error(`child exited ${code} ${signal}:\n${output}`);
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`weim exited at start:\n${output}`);
    if (Date.now() > deadline) throw new Error(`weim did not start:\n${output}`);
    const up = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    api: `${url}/api/v1`,
    pid: child.pid!,
    dataDir,
    rss() {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return Number(match?.[1] ?? 0) * 1024;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
