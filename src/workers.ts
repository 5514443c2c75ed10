import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { openConfiguredDatabase } from './db/connect.js';
import { prepareDatabase } from './node.js';

/** A worker that dies sooner than this after it started counts as a crash loop: restarts back off. */
const HEALTHY_AFTER_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

/**
 * `server.workers` > 1: this process supervises that many worker processes, each a full weim node
 * of the cluster (on the same MySQL, Redis and etcd) listening on the same port (node:cluster hands
 * each new connection to the next worker in turn). It prepares the database once (migrations run
 * here, never in several workers at once), restarts a worker that dies (backing off while they keep
 * dying at start), and on SIGTERM/SIGINT stops them all (each drains) and exits when they have.
 */
export async function superviseWorkers(config: Config, log: Logger): Promise<void> {
  const dbh = openConfiguredDatabase(config, 1);
  await prepareDatabase(dbh, config, log);
  await dbh.close();

  const count = config.server.workers;
  const baseId = config.cluster.node_id;
  let stopping = false;
  const slots = new Map<Worker, { index: number; startedAt: number; ready: boolean }>();
  let everyoneReady = false;
  const failures = new Map<number, number>();
  let generation = 0;

  const start = (index: number) => {
    const worker = cluster.fork({
      WEIM_WORKER_INDEX: String(index),
      // Each worker, and each restart of one, is a node of its own (by default host-pid is); the
      // supervisor already migrated.
      WEIM_CLUSTER_NODE_ID: baseId ? `${baseId}-w${index}-g${++generation}` : '',
      WEIM_DB_MIGRATE_ON_START: 'false',
    });
    const slot = { index, startedAt: Date.now(), ready: false };
    slots.set(worker, slot);
    worker.on('message', (message: unknown) => {
      if ((message as { weim?: string })?.weim !== 'listening') return;
      slot.ready = true;
      if (!everyoneReady && [...slots.values()].filter((s) => s.ready).length === count) {
        everyoneReady = true;
        log.info({ workers: count, port: config.server.port }, 'weim workers listening');
      }
    });
    log.info({ worker: index, pid: worker.process.pid }, 'worker started');
  };

  cluster.on('exit', (worker, code, signal) => {
    const slot = slots.get(worker);
    slots.delete(worker);
    if (!slot) return;
    if (stopping) {
      log.info({ worker: slot.index, pid: worker.process.pid, code, signal }, 'worker stopped');
      if (slots.size === 0) {
        log.info('stopped');
        process.exit(process.exitCode ?? 0);
      }
      return;
    }
    if (!everyoneReady && !slot.ready) {
      // A worker that cannot start at all (its log says why) is a start-up failure, not a crash.
      log.fatal({ worker: slot.index, code, signal }, 'a worker failed to start: stopping');
      stopping = true;
      for (const other of slots.keys()) other.process.kill('SIGTERM');
      process.exitCode = 1;
      if (slots.size === 0) process.exit(1);
      setTimeout(() => process.exit(1), 15_000).unref();
      return;
    }
    const quick = Date.now() - slot.startedAt < HEALTHY_AFTER_MS;
    const failed = quick ? (failures.get(slot.index) ?? 0) + 1 : 0;
    failures.set(slot.index, failed);
    const delay = failed === 0 ? 0 : Math.min(MAX_BACKOFF_MS, 500 * 2 ** (failed - 1));
    log.error({ worker: slot.index, pid: worker.process.pid, code, signal, restartInMs: delay }, 'worker died: restarting it');
    setTimeout(() => {
      if (!stopping) start(slot.index);
    }, delay);
  });

  for (let i = 1; i <= count; i++) start(i);

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: slots.size }, 'shutting down: stopping the workers');
    if (slots.size === 0) process.exit(0);
    for (const worker of slots.keys()) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
