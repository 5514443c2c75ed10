import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { dialectOf } from '../../db/migration-kit.js';
import { retryPause, shouldRetry, transact } from '../../db/transaction.js';
import { setBounded } from '../../bounded-map.js';
import { AppError, isUniqueViolation } from '../../errors.js';
import { storeBatch } from './batch-store.js';
import { BatchDelay } from './batch-delay.js';
import { SettleOrder } from './settle-order.js';
import { type BatchStatements, sqliteStatements } from './batch-statements.js';
import { mysqlStatementsFor } from './batch-statements.mysql.js';
import { ConversationKind } from '../conversations/index.js';
import type { StoredMessage } from './messages.table.js';

/** One message waiting to be stored. */
export interface PendingMessage {
  convKey: string;
  kind: number;
  userLo: number | null;
  userHi: number | null;
  groupId: number | null;
  senderId: number;
  toId: number;
  type: number;
  body: string;
  clientMsgId: string | null;
  /** The message of the same conversation it answers (checked by the service), or null. */
  replyTo: number | null;
  /** Group messages: the members it mentions (checked by the service), `all`, or null. */
  mentions: number[] | 'all' | null;
}

export interface WriteResult extends Omit<StoredMessage, 'conversation_id'> {
  conversationId: number;
  /** False when `clientMsgId` matched an earlier message: nothing new was stored. */
  fresh: boolean;
}

/** Where messages are stored: the writer on this thread, or on a thread of its own (message-writer.thread.ts). */
export interface MessageStore {
  /** Stores a message (or finds the stored one it resends); resolves once it is committed. */
  write(message: PendingMessage): Promise<WriteResult>;
  /** Resolves once every message queued so far is stored (or failed). */
  idle(): Promise<void>;
  /** Lets the writes in flight finish and releases what the store holds. */
  close(): Promise<void>;
}

interface Queued {
  message: PendingMessage;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
}

export interface WriterOptions {
  clock?: () => number;
  /** Most messages in one transaction. */
  maxBatch?: number;
  /** Told about every batch once it committed or failed: its size and its transaction's duration. */
  onBatch?: (size: number, seconds: number) => void;
  /** The statements to store batches with; by default chosen for the database (asked once). */
  statements?: BatchStatements;
  /**
   * MySQL: a handle on the same database whose one connection runs with autocommit off
   * (`DbHandle.openManualCommit`). Batches then run on it without a BEGIN: the first statement
   * opens the transaction and each batch ends in COMMIT or ROLLBACK, one round trip fewer (on a
   * busy node every round trip also waits a turn of the event loop).
   */
  session?: Db;
  /**
   * MySQL, with `session`: a second such handle, for a batch that starts while one is still
   * running once `spareAfter` messages wait. Without it, one slow commit held every message
   * behind it and the next batches grew with the queue and ran longer still.
   */
  spareSession?: Db;
  /** Messages waiting behind a running batch before the spare session takes some (default 50). */
  spareAfter?: number;
  /** The webhook endpoints that get a `message.sent` event for each stored message, recorded in its batch's transaction. */
  webhooks?: readonly string[];
  /** How long a batch waits for more messages when they come close together (`messages.batch_delay_ms`; BatchDelay). Default 0. */
  delayMs?: number;
}

/** Messages one batch stores at most, unless told otherwise (`WriterOptions.maxBatch`). */
export const MAX_BATCH = 500;

/** Attempts at a batch before its messages are rejected (deadlocks, unique collisions). */
const ATTEMPTS = 4;
/** Conversation keys a writer remembers as stored (see `MessageWriter.stored`). */
const KNOWN_CONVERSATIONS = 50_000;

/**
 * The write queue. Stores messages in batches (batch-store.ts stores one): everything queued while one transaction runs goes into the next,
 * which costs a handful of statements whatever its size (group commit). Each message gets the
 * next `seq` of its conversation inside that transaction, so seqs are gap-free and a message is
 * committed before its `write` promise resolves (and so before any frame about it leaves). The
 * counters live in the database only, so several nodes may write to it at once.
 *
 * Statements per batch on MariaDB: begin (not with a `session`), the counter upsert, the message
 * insert, commit (with a `session`, the insert and the commit go in one query: 2 round trips); a batch holding a resend of a stored message rolls back and runs again with the
 * resend lookup first. See batch-statements.mysql.ts. One select more checks the senders of group
 * messages, and one the friendships of conversations the writer has not seen stored yet.
 *
 * Senders are checked inside the transaction, because the service's check comes before the batch
 * and a kick, leave or unfriend can commit in between: see `refuseUnentitled`. An unfriend also
 * closes the pair's conversation (`setFriendConversationClosed`), which the counter upsert reports.
 */
export class MessageWriter implements MessageStore {
  private queue: Queued[] = [];
  /** When a batch starts while none runs (see BatchDelay); one that ends starts the next at once. */
  private readonly delay: BatchDelay;
  private running = 0;
  /** Where a batch can run now: sessions not in use, or `undefined` for a pooled transaction. */
  private readonly free: Array<Db | undefined>;
  private idleWaiters: Array<() => void> = [];
  private readonly clock: () => number;
  private readonly maxBatch: number;
  private readonly spareAfter: number;
  private readonly onBatch: WriterOptions['onBatch'];
  private statements: Promise<BatchStatements> | undefined;
  /**
   * Friend conversations this writer has seen committed (they are never deleted). A friend message to
   * one of them needs no check of `friends`: an unfriend closes the conversation, and the counter
   * upsert reports it. Any other is checked (a pair's first message, or one stored by another node).
   */
  private readonly stored = new Map<string, true>();
  private readonly webhooks: readonly string[];
  /** With a spare session two batches run at once: those sharing a conversation settle in seq order. */
  private readonly order: SettleOrder | undefined;

  constructor(private readonly db: Db, options: WriterOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.webhooks = options.webhooks ?? [];
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.spareAfter = options.spareAfter ?? 50;
    this.onBatch = options.onBatch;
    this.free = options.session ? [options.session, ...(options.spareSession ? [options.spareSession] : [])] : [undefined];
    if (options.statements) this.statements = Promise.resolve(options.statements);
    if (this.free.length > 1) this.order = new SettleOrder();
    this.delay = new BatchDelay(options.delayMs ?? 0, () => this.pump());
  }

  write(message: PendingMessage): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      this.delay.arrived(this.running === 0, this.queue.length, this.maxBatch);
      if (this.running > 0 && this.queue.length >= this.spareAfter) this.pump();
    });
  }

  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0 && !this.delay.pending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The connections are the caller's: closing only waits for the writes in flight. */
  close(): Promise<void> {
    return this.idle();
  }

  /**
   * Starts batches while messages wait and a session is free: the next batch as soon as the last
   * one ended, a second one beside a running batch only once `spareAfter` messages wait.
   *
   * Two batches running at once stay consistent: each locks its conversations' counter rows in
   * key order at its first statement and holds them until it commits, so a batch sharing a
   * conversation with the other waits for it and takes the seqs after it. Their answers come on
   * two connections, in either order: `order` settles them in seq order, so frames leave in it.
   */
  private pump(): void {
    while (this.queue.length > 0 && this.free.length > 0 && (this.running === 0 || this.queue.length >= this.spareAfter)) {
      const lane = this.free.shift();
      const batch = this.queue.splice(0, this.maxBatch);
      this.running++;
      void this.runBatch(batch, lane).finally(() => {
        this.running--;
        this.free.unshift(lane);
        this.pump();
        if (this.running === 0 && this.queue.length === 0) {
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const done of waiters) done();
        }
      });
    }
  }

  private async runBatch(batch: Queued[], session: Db | undefined): Promise<void> {
    let started = performance.now();
    const inFlight = this.order?.begin(new Set(batch.map((q) => q.message.convKey)));
    try {
      const statements = await this.batchStatements();
      started = performance.now();
      const messages = batch.map((q) => q.message);
      // Resends are looked up only once the unique (sender, client id) index has refused one:
      // the first attempt stores the batch as new, and a stored resend in it makes the insert
      // fail, roll back, and the batch run again with the lookup. Resends are rare (reconnects,
      // timeouts), so most batches skip a statement that cost a quarter of a 400-message batch.
      let lookUpResends = false;
      const attempt = async (trx: Executor, commit?: { sent: boolean }) => {
        try {
          return await storeBatch(trx, statements, messages, { lookUpResends, now: this.clock(), stored: this.stored, webhooks: this.webhooks, ...(commit ? { commit } : {}) });
        } catch (err) {
          if (isUniqueViolation(err)) lookUpResends = true;
          throw err;
        }
      };
      const results = session ? await this.inSession(session, attempt) : await transact(this.db, attempt, { retryOnUnique: true, attempts: ATTEMPTS });
      if (inFlight) await this.order!.committed(inFlight, highestSeqs(batch, results));
      batch.forEach((q, i) => {
        const result = results[i]!;
        if (result instanceof AppError) {
          q.reject(result);
        } else {
          if (q.message.kind === ConversationKind.Friend) setBounded(this.stored, q.message.convKey, true, KNOWN_CONVERSATIONS);
          q.resolve(result);
        }
      });
    } catch (err) {
      for (const q of batch) q.reject(err);
    } finally {
      if (inFlight) this.order!.settled(inFlight);
    }
    try {
      this.onBatch?.(batch.length, (performance.now() - started) / 1000);
    } catch {
      // An observer (metrics) must not stop the queue: the batch's outcome is already settled.
    }
  }

  /**
   * Runs `work` as one transaction on the autocommit-off session: COMMIT after it, ROLLBACK after
   * a failure (retried as `transact` would). Batches run one at a time, so nothing else shares the
   * session's connection between a batch's first statement and its COMMIT or ROLLBACK.
   */
  private async inSession<T>(session: Db, work: (trx: Executor, commit: { sent: boolean }) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      // `sent` turns true when the work's last statement carries the COMMIT itself.
      const commit = { sent: false };
      let committing = false;
      try {
        const result = await work(session, commit);
        committing = true;
        if (!commit.sent) await sql`commit`.execute(session);
        return result;
      } catch (err) {
        // A failed ROLLBACK means a dead connection, which the pool replaces (its transaction gone).
        await sql`rollback`.execute(session).catch(() => {});
        // A connection lost before COMMIT was sent (the server's idle timeout, a restart) took its
        // transaction with it: safe to run again. Lost during COMMIT, the outcome is unknown.
        const lostBeforeCommit = !committing && !commit.sent && (err as { fatal?: unknown } | null)?.fatal === true;
        if (!(shouldRetry(err, true) || lostBeforeCommit) || attempt >= ATTEMPTS) throw err;
        await retryPause(attempt);
      }
    }
  }

  /** The statements for this database, asked for once (again after a failed attempt). */
  private batchStatements(): Promise<BatchStatements> {
    this.statements ??= (dialectOf(this.db) === 'mysql' ? mysqlStatementsFor(this.db) : Promise.resolve(sqliteStatements)).catch((err: unknown) => {
      this.statements = undefined;
      throw err;
    });
    return this.statements;
  }
}

/** The highest seq each conversation took in a committed batch (its new messages only: a resend keeps its old seq). */
function highestSeqs(batch: readonly Queued[], results: ReadonlyArray<WriteResult | AppError>): Map<string, number> {
  const seqs = new Map<string, number>();
  results.forEach((result, i) => {
    if (result instanceof AppError || !result.fresh) return;
    const key = batch[i]!.message.convKey;
    if (result.seq > (seqs.get(key) ?? 0)) seqs.set(key, result.seq);
  });
  return seqs;
}
