import { Worker } from 'node:worker_threads';
import { AppError, type ParamValue, type Reason } from '../../errors.js';
import { BatchDelay } from './batch-delay.js';
import { MAX_BATCH, type MessageStore, type PendingMessage, type WriteResult } from './message-writer.js';

/** What the thread is started with. */
export interface WriterThreadData {
  /** File URL of message-writer.worker (.ts started through workers/typescript-worker.mjs, or the compiled .js). */
  module: string;
  /** mysql:// URL of the database. */
  location: string;
  /** The webhook endpoints that get a `message.sent` event for each stored message. */
  webhooks: readonly string[];
}

/** Main thread → writer thread: messages to store (each with an id for its answer), or stop. */
export type WriterRequest = { kind: 'write'; messages: Array<[number, PendingMessage]> } | { kind: 'close' };

/** Writer thread → main thread, once a turn: answers by id, and the batches run (size, seconds). */
export interface WriterReply {
  results: Array<[number, WriteResult]>;
  /** A failure's message and database code; `reason` and `params` for a message refused on its own (an AppError). */
  failures: Array<[number, { message: string; code?: string; reason?: Reason; params?: Readonly<Record<string, ParamValue>> }]>;
  batches: Array<[number, number]>;
  /** The thread finished its writes and closed its connections. */
  closed?: true;
  /** The thread is up (its modules loaded, its connections made on first use). */
  ready?: true;
}

interface Waiting {
  resolve: (result: WriteResult) => void;
  reject: (err: Error) => void;
}

/**
 * The message writer (MySQL) on a thread of its own: the same MessageWriter, with its own
 * connections, in a worker. Every statement of a batch is a round trip, and on the main thread
 * each answer waited its turn behind the socket callbacks of a busy event loop; measured on the
 * gateway bench (10k sockets, 5k msgs/s), batches of 70–90 messages took 20–28 ms and the whole
 * pipeline fell behind in waves. On its own thread a batch's round trips are answered at once,
 * and the main thread no longer compiles inserts or parses their answers either.
 *
 * Messages are posted once a turn (all `write` calls of one turn in one message), and answers come
 * back the same way, in the order the thread settled them: a batch's messages in batch order, and
 * batches that share a conversation in seq order (settle-order.ts), so frames leave in seq order.
 *
 * If the thread dies, the writes in flight fail (some may have been stored: a resend with the
 * same client_msg_id is answered with the stored message) and the next write starts a new thread.
 */
export class ThreadedMessageWriter implements MessageStore {
  private worker: Worker | undefined;
  /** Settles once the current thread is up (or died before it was). */
  private ready: Promise<void> | undefined;
  private readonly waiting = new Map<number, Waiting>();
  private outbox: Array<[number, PendingMessage]> = [];
  private readonly delay: BatchDelay;
  private nextId = 0;
  private closing: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly location: string,
    private readonly options: { onBatch?: (size: number, seconds: number) => void; webhooks?: readonly string[]; delayMs?: number } = {},
  ) {
    this.delay = new BatchDelay(options.delayMs ?? 0, () => this.flush());
  }

  /**
   * Starts the thread now and resolves once it is up, instead of on the first write (loading the
   * writer's modules on a fresh thread takes about a second here, which the first message of a
   * node would wait). Fails if the thread cannot start.
   */
  start(): Promise<void> {
    if (!this.worker) this.spawn();
    return this.ready!;
  }

  write(message: PendingMessage): Promise<WriteResult> {
    if (this.closing) return Promise.reject(new Error('the message writer is closed'));
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.waiting.set(id, { resolve, reject });
      this.outbox.push([id, message]);
      // A full batch of the thread's writer goes at once, without waiting out the delay.
      this.delay.arrived(true, this.outbox.length, MAX_BATCH);
    });
  }

  /** Resolves once every write made so far is answered. */
  idle(): Promise<void> {
    if (this.waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Lets the writes in flight finish, then stops the thread (its connections closed). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.idle();
      const worker = this.worker;
      if (!worker) return;
      worker.ref();
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.postMessage({ kind: 'close' } satisfies WriterRequest);
      await exited;
    })();
    return this.closing;
  }

  private flush(): void {
    const messages = this.outbox;
    this.outbox = [];
    if (messages.length === 0) return;
    const worker = this.worker ?? this.spawn();
    worker.ref();
    worker.postMessage({ kind: 'write', messages } satisfies WriterRequest);
  }

  private spawn(): Worker {
    // Compiled (dist/, `npm start`): the worker's .js runs as it is. From the TypeScript source
    // (tsx: tests, benches, `npm run dev`): through the shim that registers tsx on the thread.
    const compiled = import.meta.url.endsWith('.js');
    const data: WriterThreadData = { module: new URL(`./message-writer.worker.${compiled ? 'js' : 'ts'}`, import.meta.url).href, location: this.location, webhooks: this.options.webhooks ?? [] };
    const worker = compiled ? new Worker(new URL(data.module), { workerData: data }) : new Worker(new URL('../../workers/typescript-worker.mjs', import.meta.url), { workerData: data });
    // Referenced until its first answer (`ready`: a caller may be awaiting it with nothing else
    // to keep the process alive), then only while writes wait (see answer).
    let markReady = () => {};
    this.ready = new Promise((resolve, reject) => {
      markReady = resolve;
      worker.once('exit', (code) => reject(new Error(`the message writer thread exited at start (${code})`)));
    });
    this.ready.catch(() => {}); // also reported to the writes, by failAll
    worker.on('message', (reply: WriterReply) => {
      if (reply.ready) markReady();
      this.answer(worker, reply);
    });
    const failAll = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiting of this.waiting.values()) waiting.reject(err);
      this.waiting.clear();
      this.settleIdle();
    };
    worker.on('error', (err) => failAll(err));
    worker.on('exit', (code) => failAll(new Error(`the message writer thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  private answer(worker: Worker, reply: WriterReply): void {
    for (const [id, result] of reply.results) {
      const waiting = this.waiting.get(id);
      this.waiting.delete(id);
      waiting?.resolve(result);
    }
    for (const [id, failure] of reply.failures) {
      const waiting = this.waiting.get(id);
      this.waiting.delete(id);
      waiting?.reject(
        failure.reason !== undefined
          ? AppError.from(failure.reason, failure.params)
          : Object.assign(new Error(failure.message), failure.code === undefined ? {} : { code: failure.code }),
      );
    }
    for (const [size, seconds] of reply.batches) {
      try {
        this.options.onBatch?.(size, seconds);
      } catch {
        // An observer (metrics) must not stop the answers.
      }
    }
    // Unreferenced while nothing waits, so an idle writer does not keep the process alive.
    if (this.waiting.size === 0) worker.unref();
    this.settleIdle();
    // Its writes done and its connections closed (asked by close()).
    if (reply.closed) void worker.terminate();
  }

  private settleIdle(): void {
    if (this.waiting.size > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const done of waiters) done();
  }
}
