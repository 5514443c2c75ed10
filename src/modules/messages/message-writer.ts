import { type SelectQueryBuilder, sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { forShare } from '../../db/locking.js';
import { dialectOf } from '../../db/migration-kit.js';
import { retryPause, shouldRetry, transact } from '../../db/transaction.js';
import { setBounded } from '../../bounded-map.js';
import { AppError, isUniqueViolation } from '../../errors.js';
import { type BatchStatements, sqliteStatements } from './batch-statements.js';
import { mysqlStatementsFor } from './batch-statements.mysql.js';
import { notEntitled } from './messages.schema.js';
import { ConversationKind, type StoredMessage } from './messages.table.js';

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
}

/** Attempts at a batch before its messages are rejected (deadlocks, unique collisions). */
const ATTEMPTS = 4;
/** Conversation keys a writer remembers as stored (see `MessageWriter.stored`). */
const KNOWN_CONVERSATIONS = 50_000;

/**
 * Stores messages in batches: everything queued while one transaction runs goes into the next,
 * which costs a handful of statements whatever its size (group commit). Each message gets the
 * next `seq` of its conversation inside that transaction, so seqs are gap-free and a message is
 * committed before its `write` promise resolves (and so before any frame about it leaves). The
 * counters live in the database only, so several nodes may write to it at once.
 *
 * Statements per batch on MariaDB: begin (not with a `session`), the counter upsert, the message
 * insert, commit; a batch holding a resend of a stored message rolls back and runs again with the
 * resend lookup first. See batch-statements.mysql.ts. One select more checks the senders of group
 * messages, and one the friendships of conversations the writer has not seen stored yet.
 *
 * Senders are checked inside the transaction, because the service's check comes before the batch
 * and a kick, leave or unfriend can commit in between: see `refuseUnentitled`. An unfriend also
 * closes the pair's conversation (`setFriendConversationClosed`), which the counter upsert reports.
 */
export class MessageWriter implements MessageStore {
  private queue: Queued[] = [];
  /** A first batch is due on the next turn of the event loop (messages of this turn join it). */
  private scheduled = false;
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

  constructor(private readonly db: Db, options: WriterOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.maxBatch = options.maxBatch ?? 500;
    this.spareAfter = options.spareAfter ?? 50;
    this.onBatch = options.onBatch;
    this.free = options.session ? [options.session, ...(options.spareSession ? [options.spareSession] : [])] : [undefined];
    if (options.statements) this.statements = Promise.resolve(options.statements);
  }

  write(message: PendingMessage): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (this.running > 0) {
        if (this.queue.length >= this.spareAfter) this.pump();
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  idle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0 && !this.scheduled) return Promise.resolve();
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
   * conversation with the other waits for it and takes the seqs after it, and its messages are
   * committed, so their frames leave, after the other's.
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
    try {
      const statements = await this.batchStatements();
      started = performance.now();
      const messages = batch.map((q) => q.message);
      // Resends are looked up only once the unique (sender, client id) index has refused one:
      // the first attempt stores the batch as new, and a stored resend in it makes the insert
      // fail, roll back, and the batch run again with the lookup. Resends are rare (reconnects,
      // timeouts), so most batches skip a statement that cost a quarter of a 400-message batch.
      let lookUpResends = false;
      const attempt = async (trx: Executor) => {
        try {
          return await this.store(trx, statements, messages, lookUpResends);
        } catch (err) {
          if (isUniqueViolation(err)) lookUpResends = true;
          throw err;
        }
      };
      const results = session ? await this.inSession(session, attempt) : await transact(this.db, attempt, { retryOnUnique: true, attempts: ATTEMPTS });
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
  private async inSession<T>(session: Db, work: (trx: Executor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let committing = false;
      try {
        const result = await work(session);
        committing = true;
        await sql`commit`.execute(session);
        return result;
      } catch (err) {
        // A failed ROLLBACK means a dead connection, which the pool replaces (its transaction gone).
        await sql`rollback`.execute(session).catch(() => {});
        // A connection lost before COMMIT was sent (the server's idle timeout, a restart) took its
        // transaction with it: safe to run again. Lost during COMMIT, the outcome is unknown.
        const lostBeforeCommit = !committing && (err as { fatal?: unknown } | null)?.fatal === true;
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

  private async store(trx: Executor, statements: BatchStatements, batch: PendingMessage[], lookUpResends: boolean): Promise<Outcome[]> {
    const now = this.clock();
    const results: Array<Outcome | undefined> = new Array(batch.length);
    const first = firstIndexes(batch);
    const unchecked = await this.resolveReplays(trx, batch, first, results, lookUpResends);
    const entitled = await refuseUnentitled(trx, batch, unchecked, results, !lookUpResends, (key) => this.stored.has(key));
    if (entitled.length === 0) return copyToResends(results, first);

    // Each conversation's share of the batch, in batch order. Keys are sorted so that concurrent
    // writers (other nodes) lock conversation rows in the same order.
    const perKey = new Map<string, number[]>();
    for (const i of entitled) {
      const key = batch[i]!.convKey;
      const members = perKey.get(key);
      if (members) members.push(i);
      else perKey.set(key, [i]);
    }
    const keys = [...perKey.keys()].sort();
    const counters = await statements.advanceCounters(trx, keys.map((k) => {
      const members = perKey.get(k)!;
      const m = batch[members[0]!]!;
      return { conv_key: k, kind: m.kind, user_lo: m.userLo, user_hi: m.userHi, group_id: m.groupId, last_seq: members.length, last_message_at: now };
    }));

    // The counter moved by the share: this batch owns the seqs just below its new value. A closed
    // conversation's counter did not move: its messages are refused.
    const seqOf = new Map<number, { conversationId: number; seq: number }>();
    const closed: number[] = [];
    for (const [key, members] of perKey) {
      const counter = counters.get(key);
      if (!counter) throw new Error(`conversation ${key} missing after its upsert`);
      if (counter.closed) closed.push(...members);
      else members.forEach((i, n) => seqOf.set(i, { conversationId: counter.id, seq: counter.lastSeq - members.length + 1 + n }));
    }
    if (closed.length > 0) await refuse(trx, batch, closed, results, !lookUpResends);
    const fresh = entitled.filter((i) => seqOf.has(i));
    if (fresh.length === 0) return copyToResends(results, first);
    const rows = fresh.map((i) => {
      const m = batch[i]!;
      const { conversationId, seq } = seqOf.get(i)!;
      return { conversation_id: conversationId, seq, sender_id: m.senderId, ope: m.kind, to_id: m.toId, type: m.type, body: m.body, client_msg_id: m.clientMsgId, created_at: now };
    });
    const ids = await statements.insertMessages(trx, rows);
    fresh.forEach((i, n) => {
      results[i] = { id: ids[n]!, conversationId: rows[n]!.conversation_id, seq: rows[n]!.seq, created_at: now, fresh: true };
    });
    return copyToResends(results, first);
  }

  /**
   * Fills `results` for resends of stored messages (when `lookUp`); returns the indexes still to
   * store. Resends within the batch are found either way.
   */
  private async resolveReplays(trx: Executor, batch: PendingMessage[], first: number[], results: Array<Outcome | undefined>, lookUp: boolean): Promise<number[]> {
    // Each (sender, client id) once, even when the batch holds it several times.
    const withId = lookUp ? batch.filter((m, i) => m.clientMsgId !== null && first[i] === i) : [];
    const earlier = await storedResends(trx, withId);
    const fresh: number[] = [];
    batch.forEach((m, i) => {
      const stored = m.clientMsgId === null ? undefined : earlier.get(`${m.senderId}:${m.clientMsgId}`);
      if (stored) results[i] = stored;
      else if (first[i] === i) fresh.push(i);
    });
    return fresh;
  }
}

/** What became of one message of a batch: stored (or found stored), or refused on its own. */
type Outcome = WriteResult | AppError;

/**
 * Of the `fresh` indexes, those whose senders may post: a group message whose sender is no longer
 * a member, or a friend message whose two users are not friends, is refused with 403 (changed
 * after the service's check) and the rest of the batch goes on. Friendships are read only for
 * conversations not `stored` yet: for the others the counter upsert reports a closed conversation.
 * Read inside the batch's transaction, on MySQL with a shared lock: a kick, leave or unfriend
 * committed first is seen (one under way is waited for), and one that comes later waits for this
 * batch to commit, so nothing is stored from someone who had lost the right by then.
 */
async function refuseUnentitled(
  trx: Executor,
  batch: readonly PendingMessage[],
  fresh: number[],
  results: Array<Outcome | undefined>,
  lookUpRefused: boolean,
  stored: (convKey: string) => boolean,
): Promise<number[]> {
  // The (group, sender) and (sender, recipient) pairs to look up, each once.
  const memberPairs = new Map<string, Pair>();
  const friendPairs = new Map<string, Pair>();
  for (const i of fresh) {
    const m = batch[i]!;
    if (m.kind === ConversationKind.Group) memberPairs.set(entitlementKey(m), [m.groupId!, m.senderId]);
    else if (!stored(m.convKey)) friendPairs.set(entitlementKey(m), [m.senderId, m.toId]);
  }
  // Nothing to look up (friend messages in stored conversations only): the upsert checks those.
  if (memberPairs.size === 0 && friendPairs.size === 0) return fresh;
  const members = await pairsPresent(trx, [...memberPairs.values()], (chunk) =>
    trx.selectFrom('group_members').select(['group_id as a', 'user_id as b']).where((eb) => eb.or(chunk.map(([g, u]) => eb.and([eb('group_id', '=', g), eb('user_id', '=', u)])))),
  );
  // A friendship is two rows, written and deleted together: the sender's row stands for both.
  const friends = await pairsPresent(trx, [...friendPairs.values()], (chunk) =>
    trx.selectFrom('friends').select(['user_id as a', 'friend_id as b']).where((eb) => eb.or(chunk.map(([u, f]) => eb.and([eb('user_id', '=', u), eb('friend_id', '=', f)])))),
  );
  const refused = fresh.filter((i) => {
    const m = batch[i]!;
    const key = entitlementKey(m);
    return m.kind === ConversationKind.Group ? !members.has(key) : friendPairs.has(key) && !friends.has(key);
  });
  if (refused.length === 0) return fresh;
  await refuse(trx, batch, refused, results, lookUpRefused);
  // The refused now have their outcome; the rest are still to store.
  return fresh.filter((i) => results[i] === undefined);
}

/**
 * Gives each of `refused` its 403, or, for one that resends a stored message (`lookUpRefused`:
 * resends were not looked up yet), the stored message: it was sent while its sender still could.
 */
async function refuse(trx: Executor, batch: readonly PendingMessage[], refused: readonly number[], results: Array<Outcome | undefined>, lookUpRefused: boolean): Promise<void> {
  const withId = lookUpRefused ? refused.map((i) => batch[i]!).filter((m) => m.clientMsgId !== null) : [];
  const stored = await storedResends(trx, withId);
  for (const i of refused) {
    const m = batch[i]!;
    results[i] = (m.clientMsgId !== null && stored.get(`${m.senderId}:${m.clientMsgId}`)) || notEntitled(m.kind);
  }
}

type Pair = readonly [number, number];

/** What entitles a message's sender: `group:sender` for a group message, `sender:recipient` for a friend one. */
function entitlementKey(m: PendingMessage): string {
  return m.kind === ConversationKind.Group ? `${m.groupId}:${m.senderId}` : `${m.senderId}:${m.toId}`;
}

/**
 * Which of `pairs` have a row, as `a:b` keys: `query` selects a chunk's rows (columns `a`, `b`),
 * one probe of the primary key per pair, 500 pairs to a statement, under a shared lock on MySQL.
 * No statement for no pairs.
 */
async function pairsPresent<DB, TB extends keyof DB>(
  trx: Executor,
  pairs: readonly Pair[],
  query: (chunk: readonly Pair[]) => SelectQueryBuilder<DB, TB, { a: number; b: number }>,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let at = 0; at < pairs.length; at += 500) {
    for (const r of await forShare(trx, query(pairs.slice(at, at + 500))).execute()) found.add(`${Number(r.a)}:${Number(r.b)}`);
  }
  return found;
}

/**
 * The stored messages that `messages` resend, by `sender:clientMsgId`: exact (sender, client id)
 * pairs, one index probe each. (Two IN lists made the database probe every sender with every
 * client id: batch² probes, seconds per batch at 5k msgs/s.)
 */
async function storedResends(trx: Executor, messages: readonly PendingMessage[]): Promise<Map<string, WriteResult>> {
  const earlier = new Map<string, WriteResult>();
  if (messages.length === 0) return earlier;
  const found = await trx
    .selectFrom('messages')
    .select(['id', 'conversation_id', 'seq', 'created_at', 'sender_id', 'client_msg_id'])
    .where((eb) => eb.or(messages.map((m) => eb.and([eb('sender_id', '=', m.senderId), eb('client_msg_id', '=', m.clientMsgId!)]))))
    .execute();
  for (const r of found) {
    earlier.set(`${r.sender_id}:${r.client_msg_id}`, {
      id: Number(r.id), conversationId: Number(r.conversation_id), seq: Number(r.seq), created_at: Number(r.created_at), fresh: false,
    });
  }
  return earlier;
}

/** Resends of a message that is itself in the batch share its outcome. */
function copyToResends(results: Array<Outcome | undefined>, first: readonly number[]): Outcome[] {
  for (let i = 0; i < results.length; i++) {
    if (results[i]) continue;
    const original = results[first[i]!]!;
    results[i] = original instanceof AppError ? original : { ...original, fresh: false };
  }
  return results as Outcome[];
}

/** For each message, the index of the first one in the batch with the same sender and client id (or its own). */
function firstIndexes(batch: readonly PendingMessage[]): number[] {
  const seen = new Map<string, number>();
  return batch.map((m, i) => {
    if (m.clientMsgId === null) return i;
    const key = `${m.senderId}:${m.clientMsgId}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) return earlier;
    seen.set(key, i);
    return i;
  });
}
