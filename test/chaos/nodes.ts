import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../setup/processes.js';
import type { Rig } from './rig.js';
import { DRAIN_CLOSES_PER_SECOND, DRAIN_DELAY_MS } from './drain.js';

/**
 * The checkout whose `src/main.ts` the nodes run: this repository, or another one named by
 * WEIM_CHAOS_SERVER_ROOT (to check the harness against a known server version side by side).
 */
const root = process.env.WEIM_CHAOS_SERVER_ROOT ?? fileURLToPath(new URL('../..', import.meta.url));
const LOG_LINES = 300;
/** cluster.lease_seconds of the chaos nodes: a dead node is dropped after about this long. */
export const LEASE_SECONDS = 2;

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** A pino JSON line as `time LEVEL msg: error {other fields}` (≤ 400 characters); other lines as they are. */
function compact(line: string): { text: string; key: string } {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return { text: line.slice(0, 400), key: line };
  }
  const { time, level, msg, err, service: _s, pid: _p, hostname: _h, ...rest } = entry;
  const error = err && typeof err === 'object' ? `: ${String((err as { message?: unknown }).message)}` : '';
  const head = `${LEVELS[Number(level)] ?? level} ${String(msg)}${error}`;
  const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest).slice(0, 150)}` : '';
  const at = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  return { text: `${at} ${head}${extra}`.slice(0, 400), key: head };
}

/** An exit nobody asked for (a crash): reported as a server defect. */
export interface UnexpectedExit {
  node: string;
  at: number;
  code: number | null;
  signal: string | null;
}

/**
 * One weim node process (`node --import tsx src/main.ts`, what `npm start` runs) in cluster mode.
 * It keeps its id, port and data dir across restarts, and the last LOG_LINES lines of output over
 * all of its runs (pino JSON at `warn`), for failure messages.
 */
export class WeimNode {
  readonly url: string;
  readonly wsUrl: string;
  private child: ChildProcess | undefined;
  private lines: Array<{ text: string; key: string; count: number }> = [];
  private readonly partial = new Map<string, string>();
  private runs = 0;
  /** Set while we are killing/stopping it on purpose. */
  private expectingExit = false;
  /** Set by the cluster's close(): it is never started again. */
  closed = false;

  constructor(
    readonly id: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly dataDir: string,
    private readonly onUnexpectedExit: (exit: UnexpectedExit) => void,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.wsUrl = `ws://127.0.0.1:${port}/ws`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Keeps output lines (compacted); a line repeating one of the last few (same level, message and
   * error) only bumps its count, so a log storm does not push out the rest.
   */
  private keep(text: string, source: 'out' | 'err' | 'rig' = 'rig'): void {
    const lines = ((this.partial.get(source) ?? '') + text).split('\n');
    this.partial.set(source, lines.pop() ?? ''); // a chunk may end mid-line
    for (const line of lines) {
      if (!line.trim()) continue;
      const { text, key } = compact(line);
      // Among the last 4: a storm often alternates two or three messages.
      const same = this.lines.slice(-4).find((l) => l.key === key);
      if (same) same.count++;
      else this.lines.push({ text, key, count: 1 });
    }
    if (this.lines.length > LOG_LINES * 2) this.lines = this.lines.slice(-LOG_LINES);
  }

  /** Starts the process and resolves once /healthz answers (throws with its output if it does not within `timeoutMs`). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.closed) throw new Error(`${this.id}: the cluster was closed`);
    this.runs++;
    this.keep(`\n--- ${this.id} run ${this.runs} started at ${new Date().toISOString()} ---\n`);
    this.expectingExit = false;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    child.stdout!.on('data', (c: Buffer) => this.keep(c.toString(), 'out'));
    child.stderr!.on('data', (c: Buffer) => this.keep(c.toString(), 'err'));
    child.once('exit', (code, signal) => {
      this.keep(`\n--- ${this.id} run exited: code ${code} signal ${signal} at ${new Date().toISOString()} ---\n`);
      if (!this.expectingExit) this.onUnexpectedExit({ node: this.id, at: Date.now(), code, signal });
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.id} exited at start:\n${this.logTail(60)}`);
      if (Date.now() > deadline) throw new Error(`${this.id} did not answer /healthz within ${timeoutMs} ms:\n${this.logTail(60)}`);
      const up = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then((r) => r.ok, () => false);
      if (up) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL: it dies at once, leaving its sockets, lease and directory entries behind. */
  async kill(): Promise<number> {
    return this.signal('SIGKILL');
  }

  /** SIGTERM (graceful stop), SIGKILL after 15 s. */
  async stop(): Promise<void> {
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), 15_000);
    await this.signal('SIGTERM');
    clearTimeout(timer);
  }

  /** Sends `sig` and resolves (with the time it was sent) once the process has exited. */
  private async signal(sig: NodeJS.Signals): Promise<number> {
    const at = Date.now();
    const child = this.child;
    if (!child || !this.running) return at;
    this.expectingExit = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(sig);
    await exited;
    return at;
  }

  logTail(lines = 40): string {
    return this.lines.slice(-lines).map((l) => (l.count > 1 ? `${l.text}  [×${l.count}]` : l.text)).join('\n');
  }

  removeData(): void {
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}

export interface Cluster {
  nodes: WeimNode[];
  unexpectedExits: UnexpectedExit[];
  /** The tail of every node's output. */
  logs(lines?: number): string;
  close(): Promise<void>;
}

/**
 * Three nodes n1..n3 on the rig's MariaDB, Redis and etcd, under a random key prefix. n1 runs the
 * migrations at start (`db.migrate_on_start` is off by default on MySQL) and is waited for before
 * n2 and n3 start, so they never race the migrations. The per-user send limit and the
 * registration/login limits per IP are raised: the load comes from one address and must not be
 * refused for rate (that would measure the limiter, not delivery).
 */
export async function startCluster(rig: Rig, extraEnv: Record<string, string> = {}): Promise<Cluster> {
  const prefix = `chaos-${randomBytes(4).toString('hex')}`;
  const unexpectedExits: UnexpectedExit[] = [];
  const nodes: WeimNode[] = [];
  for (const id of ['n1', 'n2', 'n3']) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), `weim-chaos-${id}-`));
    nodes.push(new WeimNode(id, port, {
      WEIM_CONFIG: join(root, 'config.yml'),
      WEIM_DATA_DIR: dataDir,
      PORT: String(port),
      WEIM_SERVER_HOST: '127.0.0.1',
      WEIM_AUTH_BCRYPT_COST: '4',
      WEIM_AUTH_REGISTER_MAX_PER_IP: '100000',
      WEIM_AUTH_LOGIN_MAX_PER_IP: '100000',
      WEIM_MESSAGES_SEND_MAX_PER_10S: '100000',
      WEIM_DB_DIALECT: 'mysql',
      WEIM_DB_URL: rig.dbUrl,
      WEIM_DB_MIGRATE_ON_START: id === 'n1' ? 'true' : 'false',
      WEIM_CLUSTER_MODE: 'cluster',
      WEIM_CLUSTER_NODE_ID: id,
      WEIM_CLUSTER_REDIS_URL: rig.redisUrl,
      WEIM_CLUSTER_ETCD_HOSTS: rig.etcdUrl,
      WEIM_CLUSTER_LEASE_SECONDS: String(LEASE_SECONDS),
      WEIM_CLUSTER_KEY_PREFIX: prefix,
      WEIM_LOG_LEVEL: 'warn',
      WEIM_SERVER_DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
      WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: String(DRAIN_CLOSES_PER_SECOND),
      ...extraEnv,
    }, dataDir, (exit) => unexpectedExits.push(exit)));
  }
  const cluster: Cluster = {
    nodes,
    unexpectedExits,
    logs: (lines = 40) => nodes.map((n) => `===== ${n.id} (port ${n.port}) =====\n${n.logTail(lines)}`).join('\n'),
    async close() {
      for (const n of nodes) n.closed = true;
      await Promise.all(nodes.map((n) => n.stop().catch(() => {})));
      for (const n of nodes) n.removeData();
    },
  };
  try {
    await nodes[0]!.start();
    await Promise.all(nodes.slice(1).map((n) => n.start()));
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}
