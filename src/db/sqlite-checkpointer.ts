import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/**
 * How often the checkpointer copies the WAL into the database file. Small checkpoints often: the
 * writer's commits wait on the disk while a checkpoint syncs, so a big one stalls them longer
 * (batches of 18 messages, worst of 3,000: 14–20 ms at 50 ms, 34 ms at 200 ms, 41–81 ms at 1 s;
 * 12–26 ms with the writer checkpointing itself). A checkpoint with nothing to copy costs nothing.
 */
const INTERVAL_MS = 50;
/**
 * The writing connection still checkpoints by itself once the WAL holds this many pages (about
 * 40 MB): only if the checkpointer thread stopped or fell far behind.
 */
const BACKSTOP_PAGES = 10_000;

export interface Checkpointer {
  stop(): Promise<void>;
}

/**
 * Moves WAL checkpoints off the event loop. By default the connection that commits past 1,000
 * WAL pages runs the checkpoint inside that commit: copying pages and two fsyncs on the thread
 * that also serves every socket, once every dozen message batches at 5k msgs/s. Here a worker
 * thread with its own connection runs a PASSIVE checkpoint every 50 ms instead (WAL mode lets it
 * run beside the writer), and the writer's own checkpoint is kept only as a backstop. Measured on
 * the message writer (batches of 18, 54k messages): 66–71 µs of the event loop per message
 * instead of 83–104, and a p99 batch of 4–6 ms instead of 10–13. Durability is unchanged: with
 * synchronous = NORMAL a commit is as safe as before, and a checkpoint syncs the WAL first.
 */
export function startCheckpointer(database: SqliteDatabase.Database, onFailure: (reason: string) => void): Checkpointer {
  database.pragma(`wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  const worker = new Worker(new URL('./sqlite-checkpoint.worker.mjs', import.meta.url), { workerData: { location: database.name, intervalMs: INTERVAL_MS } });
  const restoreDefault = () => {
    if (database.open) database.pragma('wal_autocheckpoint = 1000');
  };
  worker.on('message', (message: { failed?: string }) => {
    if (message.failed) onFailure(message.failed);
  });
  worker.on('error', (err) => {
    restoreDefault();
    onFailure(String(err));
  });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  // After the listeners: adding a 'message' listener refs the worker again, and a referenced
  // worker keeps the process alive after everything else has finished.
  worker.unref();
  return {
    async stop() {
      // Referenced again: otherwise a process that is shutting down exits while waiting for it.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
