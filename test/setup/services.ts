import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import type { TestProject } from 'vitest/node';
import { startMariadb } from './mariadb.js';
import { findBinary, onFreePorts, startProcess, stopProcess, waitUntil } from './processes.js';

/**
 * Vitest global setup: private MariaDB, Redis and etcd on loopback (ephemeral ports, temp data
 * dirs, stopped after the run), unless WEIM_TEST_MYSQL_URL / WEIM_TEST_REDIS_URL /
 * WEIM_TEST_ETCD_URL name running ones. A missing binary fails the run under CI=true; elsewhere
 * it is reported loudly and the suites that need the service say they are skipped.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    mysqlUrl: string | null;
    redisUrl: string | null;
    etcdUrl: string | null;
  }
}

export interface Started {
  url: string;
  child?: ChildProcess;
  dir?: string;
}

const started: Started[] = [];
const ci = process.env.CI === 'true' || process.env.CI === '1';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [mysql, redis, etcd] = await Promise.all([
    provideService('MariaDB', 'WEIM_TEST_MYSQL_URL', 'mariadbd', (binary) => startMariadb(binary)),
    provideService('Redis', 'WEIM_TEST_REDIS_URL', 'redis-server', startRedis),
    provideService('etcd', 'WEIM_TEST_ETCD_URL', 'etcd', startEtcd),
  ]);
  project.provide('mysqlUrl', mysql);
  project.provide('redisUrl', redis);
  project.provide('etcdUrl', etcd);
  return async () => {
    await Promise.all(started.map((s) => (s.child ? stopProcess(s.child) : undefined)));
    for (const s of started) if (s.dir) rmSync(s.dir, { recursive: true, force: true });
  };
}

async function provideService(
  label: string,
  envName: string,
  binaryName: string,
  start: (binary: string) => Promise<Started>,
): Promise<string | null> {
  const given = process.env[envName];
  if (given) return given;
  const binary = findBinary(binaryName);
  if (!binary) {
    const message = `${label}: '${binaryName}' not found. Install it (apt-get install -y mariadb-server redis-server etcd-server) or set ${envName}.`;
    if (ci) throw new Error(`CI=true and a test service is missing. ${message}`);
    console.warn(`\n!!! ${message} Suites that need ${label} will be SKIPPED (this would fail under CI).\n`);
    return null;
  }
  const s = await start(binary);
  started.push(s);
  return s.url;
}

/** A private redis-server on a free loopback port (also used by bench/cluster.ts). */
export function startRedis(binary: string): Promise<Started> {
  return onFreePorts(1, async ([port]) => {
    const dir = mkdtempSync(join(tmpdir(), 'weim-redis-'));
    const server = startProcess('redis-server', binary, [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
    ]);
    await waitUntil('Redis', () => redisPing(port!), 20_000, server.output, server.child);
    return { url: `redis://127.0.0.1:${port}`, child: server.child, dir };
  });
}

/** A private single-member etcd on free loopback ports (also used by bench/cluster.ts). */
export function startEtcd(binary: string): Promise<Started> {
  return onFreePorts(2, async ([client, peer]) => {
    const dir = mkdtempSync(join(tmpdir(), 'weim-etcd-'));
    const server = startProcess('etcd', binary, [
      '--name', 'n1', '--data-dir', `${dir}/data`,
      '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
      '--initial-cluster', `n1=http://127.0.0.1:${peer}`, '--log-level', 'error',
    ]);
    const url = `http://127.0.0.1:${client}`;
    await waitUntil('etcd', async () => {
      const response = await fetch(`${url}/health`);
      return response.ok && ((await response.json()) as { health?: string }).health === 'true';
    }, 30_000, server.output, server.child);
    return { url, child: server.child, dir };
  });
}

/** Whether a Redis answers PING on this loopback port (also used by the chaos rig). */
export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(1000, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
  });
}
