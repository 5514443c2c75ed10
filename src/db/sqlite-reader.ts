import { Worker } from 'node:worker_threads';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { Database, Db } from './database.js';

interface Pending {
  resolve: (rows: unknown[]) => void;
  reject: (err: Error) => void;
}

interface Reply {
  id: number;
  rows?: unknown[];
  error?: { message: string; code?: string };
}

/**
 * A SQLite connection on a worker thread for read-only queries. better-sqlite3 runs a query on
 * the thread that calls it, so on the node's one connection every search and nearby query ran on
 * the event loop, which the HTTP server and the sockets also need: measured on the search
 * benchmark (100k users, 50 clients), the event loop was busy all the time and SQLite was about a
 * third of it, while the second core sat mostly idle. Here those queries run on another thread
 * (WAL mode lets its connection read the last commit beside the writer), and the event loop only
 * compiles the query and receives the rows.
 *
 * Reads see every transaction committed before they start, so a request that follows a write
 * reads it. The thread is restarted after a crash; queries in flight then fail.
 */
export class SqliteReader implements ReadRunner {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private outbox: { id: number; sql: string; parameters: readonly unknown[] }[] = [];
  private closed = false;

  constructor(private readonly location: string) {}

  /** The rows of one read-only statement (anything else is refused by the connection). */
  query(sql: string, parameters: readonly unknown[]): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new Error('the SQLite reader is closed'));
    const worker = this.worker ?? this.start();
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(id, { resolve, reject });
      if (this.outbox.length === 0) setImmediate(() => this.flush());
      this.outbox.push({ id, sql, parameters });
    });
  }

  /**
   * Posts the queries of one event-loop turn as one message. Each message wakes the thread, and
   * on a loaded 2-core machine a wake-up costs more than the copy: one per turn, not per query.
   * (A fast query of a turn waits for the slower ones of the same turn; they are a few ms at most.)
   * Queries a crashed thread failed already are left out; the rest go to the thread running now.
   */
  private flush(): void {
    const batch = this.outbox.filter((q) => this.pending.has(q.id));
    this.outbox = [];
    if (batch.length === 0) return;
    if (this.closed && !this.worker) {
      for (const { id } of batch) this.settle({ id, error: { message: 'the SQLite reader is closed' } });
      return;
    }
    const worker = this.worker ?? this.start();
    try {
      worker.postMessage(batch);
    } catch {
      // A query whose parameters cannot be copied to the thread: it fails alone, the others go.
      for (const query of batch) {
        try {
          worker.postMessage([query]);
        } catch (err) {
          this.settle({ id: query.id, error: { message: err instanceof Error ? err.message : String(err) } });
        }
      }
    }
  }

  private settle(reply: Reply): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker?.unref();
    if (reply.error) waiting.reject(Object.assign(new Error(reply.error.message), { code: reply.error.code }));
    else waiting.resolve(reply.rows!);
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    worker.ref();
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Queries asked for in this turn go first; the thread answers them, then stops.
    this.flush();
    worker.postMessage('stop');
    await exited;
  }

  private start(): Worker {
    const worker = new Worker(new URL('./sqlite-read.worker.mjs', import.meta.url), { workerData: { location: this.location } });
    worker.on('message', (replies: Reply[]) => {
      for (const reply of replies) this.settle(reply);
    });
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => failAll(new Error(`the SQLite reader thread exited (${code})`)));
    // Unreferenced while idle (added after the listeners, which reference it again).
    worker.unref();
    this.worker = worker;
    return worker;
  }
}

/** What runs read-only statements off the event loop: one reader thread, or several. */
export interface ReadRunner {
  query(sql: string, parameters: readonly unknown[]): Promise<unknown[]>;
  close(): Promise<void>;
}

/**
 * Several reader threads (each its own connection); each query goes to the next in turn. The
 * event loop hands a turn's queries to the threads as one batch each, and a batch is answered
 * once it is done: split over two threads, a batch is answered in about half the time. On the
 * search benchmark (2 cores, 50 clients, A/B in one process over 6 rounds) two threads served
 * 10–17% more requests a second than one on search, 13% on nearby, with a lower p50.
 */
export class SqliteReaderPool implements ReadRunner {
  private next = 0;

  constructor(private readonly readers: readonly SqliteReader[]) {}

  query(sql: string, parameters: readonly unknown[]): Promise<unknown[]> {
    const reader = this.readers[this.next]!;
    this.next = (this.next + 1) % this.readers.length;
    return reader.query(sql, parameters);
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.close()));
  }
}

/**
 * A Kysely instance over `reader`: queries built as usual, run on its thread. It has no
 * transactions and no streams; a statement that changes anything fails.
 */
export function readerKysely(reader: ReadRunner): Db {
  const connection: DatabaseConnection = {
    async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
      return { rows: (await reader.query(compiled.sql, compiled.parameters)) as R[] };
    },
    async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
      throw new Error('the SQLite reader does not stream');
    },
  };
  const noTransactions = () => Promise.reject(new Error('the SQLite reader runs no transactions'));
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: noTransactions,
    commitTransaction: noTransactions,
    rollbackTransaction: noTransactions,
    releaseConnection: async () => {},
    destroy: () => reader.close(),
  };
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new SqliteAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => new SqliteIntrospector(db),
      createQueryCompiler: () => new SqliteQueryCompiler(),
    },
  });
}
