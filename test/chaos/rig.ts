import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createConnection } from 'mysql2/promise';
import { createMysqlDatabase, startMariadb } from '../setup/mariadb.js';
import { findBinary, startProcess, stopProcess, waitUntil } from '../setup/processes.js';
import { redisPing, startEtcd, startRedis } from '../setup/services.js';

/**
 * The chaos suite's OWN MariaDB, Redis and etcd (never the shared ones of vitest's global setup:
 * these get killed and restarted). Started with the project's helpers; a restart spawns the same
 * binary with the very same arguments (`spawnargs`), so it comes back on the same port(s) and the
 * same data directory (MariaDB, etcd) or empty (Redis keeps nothing on disk: `--save ''
 * --appendonly no`, so its keys are lost).
 */

/** When a fault took a service down and when it answered again (epoch ms). */
export interface FaultTimes {
  downAt: number;
  upAt: number;
}

interface Running {
  name: string;
  child: ChildProcess;
  output: () => string;
  dir: string;
}

export interface Rig {
  /** Admin URL (`weim` user may create databases) and the URL of the chaos database. */
  mysqlAdminUrl: string;
  dbUrl: string;
  redisUrl: string;
  etcdUrl: string;
  /** SIGKILL redis-server, keep it down `downMs`, start an empty one on the same port. */
  restartRedis(downMs: number): Promise<FaultTimes>;
  /** SIGKILL etcd, keep it down `downMs`, start it again (same ports, same data dir). */
  stopEtcdFor(downMs: number): Promise<FaultTimes>;
  /** SIGTERM mariadbd (clean stop), keep it down `downMs` in all, start it on the same datadir/port. */
  restartMariadb(downMs: number): Promise<FaultTimes>;
  /** Last output of each service (for failure messages). */
  outputs(): string;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function need(name: string): string {
  const binary = findBinary(name);
  if (!binary) throw new Error(`chaos rig: '${name}' not found (apt-get install -y mariadb-server redis-server etcd-server)`);
  return binary;
}

/** True when every chaos service binary is installed (the suite is skipped otherwise, outside CI). */
export function rigAvailable(): boolean {
  return ['mariadbd', 'redis-server', 'etcd'].every((b) => findBinary(b) !== undefined);
}

/** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
async function kill(child: ChildProcess, signal: NodeJS.Signals, graceMs = 30_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The same binary, same arguments, as a new process. */
function respawn(running: Running): Running {
  const started = startProcess(running.name, running.child.spawnfile, running.child.spawnargs.slice(1));
  return { ...running, child: started.child, output: started.output };
}


export async function startRig(): Promise<Rig> {
  const all: Running[] = [];
  let closed = false;
  const closeAll = async () => {
    closed = true;
    await Promise.all(all.map((s) => stopProcess(s.child).catch(() => {})));
    for (const s of all) rmSync(s.dir, { recursive: true, force: true });
  };
  const bins = { maria: need('mariadbd'), redis: need('redis-server'), etcd: need('etcd') };
  try {
    // startMariadb/startRedis/startEtcd do not hand back the output getter: keep a fresh one.
    const wrap = (name: string, s: { child?: ChildProcess; dir?: string }): Running => {
      if (!s.child) throw new Error(`chaos rig: ${name} was not started by the rig`);
      let out = '';
      const keep = (c: Buffer) => (out = (out + c.toString()).slice(-4000));
      s.child.stdout?.on('data', keep);
      s.child.stderr?.on('data', keep);
      const running = { name, child: s.child, output: () => out, dir: s.dir ?? '' };
      all.push(running);
      return running;
    };
    // allSettled: what did start is stopped by closeAll() when another service failed.
    const [m, r, e] = await Promise.allSettled([
      startMariadb(bins.maria).then((s) => ({ s, run: wrap('mariadbd', s) })),
      startRedis(bins.redis).then((s) => ({ s, run: wrap('redis-server', s) })),
      startEtcd(bins.etcd).then((s) => ({ s, run: wrap('etcd', s) })),
    ]);
    for (const settled of [m, r, e]) if (settled.status === 'rejected') throw settled.reason;
    const ok = <T>(x: PromiseSettledResult<T>) => (x as PromiseFulfilledResult<T>).value;
    const { s: maria, run: db } = ok(m);
    const { s: redis, run: rd } = ok(r);
    const { s: etcd, run: et } = ok(e);
    const redisPort = Number(new URL(redis.url).port);
    const dbUrl = await createMysqlDatabase(maria.url, `weim_chaos_${randomBytes(4).toString('hex')}`);
    const mysqlReady = async () => {
      const c = await createConnection({ uri: maria.url, connectTimeout: 1000 });
      await c.end();
      return true;
    };
    const etcdReady = async () => {
      const response = await fetch(`${etcd.url}/health`, { signal: AbortSignal.timeout(1000) });
      return response.ok && ((await response.json()) as { health?: string }).health === 'true';
    };
    /** Stops `s` with `signal`, keeps it down `downMs` from the signal on, starts it again. */
    const restart = async (s: Running, signal: NodeJS.Signals, downMs: number, ready: () => Promise<boolean>): Promise<FaultTimes> => {
      const downAt = Date.now();
      await kill(s.child, signal);
      await sleep(Math.max(0, downAt + downMs - Date.now()));
      if (closed) throw new Error(`chaos rig closed while ${s.name} was down`); // start nothing after close()
      const next = respawn(s);
      Object.assign(s, next); // `all` holds `s`: close() stops the new process
      await waitUntil(s.name, ready, 60_000, next.output);
      return { downAt, upAt: Date.now() };
    };
    return {
      mysqlAdminUrl: maria.url,
      dbUrl,
      redisUrl: redis.url,
      etcdUrl: etcd.url,
      restartRedis: (downMs) => restart(rd, 'SIGKILL', downMs, () => redisPing(redisPort)),
      stopEtcdFor: (downMs) => restart(et, 'SIGKILL', downMs, etcdReady),
      restartMariadb: (downMs) => restart(db, 'SIGTERM', downMs, mysqlReady),
      outputs: () => all.map((s) => `--- ${s.name} (exit ${s.child.exitCode ?? s.child.signalCode ?? 'running'}) ---\n${s.output().slice(-1500)}`).join('\n'),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
