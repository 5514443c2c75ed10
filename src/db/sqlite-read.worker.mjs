// A SQLite read thread (see sqlite-reader.ts). Plain JavaScript: Node 20 does not apply tsx's
// loader inside worker threads.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** Prepared statements kept by SQL text (Kysely compiles the same few shapes again and again). */
const CACHE_SIZE = 200;

/** @type {{ location: string }} */
const job = workerData;
const db = new Database(job.location, { fileMustExist: true });
// Its own connection, in WAL mode like the writer's: it reads the last committed state beside the
// writer and never blocks it. It must not write: query_only makes SQLite refuse it.
db.pragma('query_only = ON');
db.pragma('busy_timeout = 5000');

/** @type {Map<string, import('better-sqlite3').Statement>} */
const statements = new Map();

function statement(sql) {
  let prepared = statements.get(sql);
  if (prepared) return prepared;
  prepared = db.prepare(sql);
  if (statements.size >= CACHE_SIZE) statements.delete(statements.keys().next().value);
  statements.set(sql, prepared);
  return prepared;
}

parentPort?.on('message', (message) => {
  if (message === 'stop') {
    db.close();
    parentPort?.close();
    return;
  }
  // The queries of one turn of the node's event loop, answered with one message.
  parentPort?.postMessage(message.map(run));
});

function run({ id, sql, parameters }) {
  try {
    const prepared = statement(sql);
    if (!prepared.reader) throw new Error('a read connection runs statements that return rows only');
    return { id, rows: prepared.all(...parameters) };
  } catch (err) {
    return { id, error: { message: err instanceof Error ? err.message : String(err), code: err?.code } };
  }
}
