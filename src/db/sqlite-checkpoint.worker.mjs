// The SQLite checkpointer's thread (see sqlite-checkpointer.ts). Plain JavaScript: Node 20 does not
// apply tsx's loader inside worker threads.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** @type {{ location: string, intervalMs: number }} */
const job = workerData;
const db = new Database(job.location);
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 1000');

function checkpoint() {
  try {
    // PASSIVE: copies what no reader still needs, never waits for or blocks the writer.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    parentPort?.postMessage({ failed: String(err) });
  }
}

const timer = setInterval(checkpoint, job.intervalMs);
parentPort?.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort?.close();
});
