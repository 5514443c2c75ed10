import { sql } from 'kysely';
import type { Db, Executor } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
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
}

export interface WriteResult extends Omit<StoredMessage, 'conversation_id'> {
  conversationId: number;
  /** False when `clientMsgId` matched an earlier message: nothing new was stored. */
  fresh: boolean;
}

interface Queued {
  message: PendingMessage;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
}

/**
 * Stores messages in batches: everything queued while one transaction runs goes into the next,
 * which costs a handful of statements whatever its size (group commit). Each message gets the
 * next `seq` of its conversation inside that transaction, so seqs are gap-free and a message is
 * committed before its `write` promise resolves (and so before any frame about it leaves).
 */
export class MessageWriter {
  private queue: Queued[] = [];
  private flushing = false;
  private drained: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
    private readonly maxBatch = 500,
  ) {}

  write(message: PendingMessage): Promise<WriteResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        this.drained = new Promise((done) => setImmediate(() => void this.drain().then(done)));
      }
    });
  }

  /** Resolves once every message queued so far is stored (or failed). */
  idle(): Promise<void> {
    return this.drained;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const results = await transact(this.db, (trx) => this.store(trx, batch.map((q) => q.message)), { retryOnUnique: true });
        batch.forEach((q, i) => q.resolve(results[i]!));
      } catch (err) {
        for (const q of batch) q.reject(err);
      }
    }
    this.flushing = false;
  }

  private async store(trx: Executor, batch: PendingMessage[]): Promise<WriteResult[]> {
    const now = this.clock();
    const results: Array<WriteResult | undefined> = new Array(batch.length);
    const fresh = await this.resolveReplays(trx, batch, results);
    if (fresh.length === 0) return results as WriteResult[];

    // Conversations: create missing rows, then advance each counter by its share of the batch.
    const perKey = new Map<string, number[]>();
    for (const i of fresh) {
      const key = batch[i]!.convKey;
      const members = perKey.get(key);
      if (members) members.push(i);
      else perKey.set(key, [i]);
    }
    const keys = [...perKey.keys()].sort();
    await trx
      .insertInto('conversations')
      .values(keys.map((k) => {
        const m = batch[perKey.get(k)![0]!]!;
        return { conv_key: k, kind: m.kind, user_lo: m.userLo, user_hi: m.userHi, group_id: m.groupId, last_seq: 0, last_message_at: 0 };
      }))
      .orIgnore()
      .execute();
    // One branch per distinct count (most are 1), each an IN list: linear in the batch, where a
    // branch per key made every updated row walk every branch (quadratic in large batches).
    const keysByCount = new Map<number, string[]>();
    for (const k of keys) {
      const n = perKey.get(k)!.length;
      const same = keysByCount.get(n);
      if (same) same.push(k);
      else keysByCount.set(n, [k]);
    }
    const increment = sql<number>`case ${sql.join([...keysByCount].map(([n, ks]) => sql`when conv_key in (${sql.join(ks)}) then ${n}`), sql` `)} else 0 end`;
    await trx
      .updateTable('conversations')
      .set((eb) => ({ last_seq: eb('last_seq', '+', increment), last_message_at: now }))
      .where('conv_key', 'in', keys)
      .execute();
    const counters = await trx.selectFrom('conversations').select(['id', 'conv_key', 'last_seq']).where('conv_key', 'in', keys).execute();

    const rows = [];
    const seqOf = new Map<number, { conversationId: number; seq: number }>();
    for (const c of counters) {
      const members = perKey.get(c.conv_key)!;
      let seq = Number(c.last_seq) - members.length;
      for (const i of members) {
        seq += 1;
        seqOf.set(i, { conversationId: Number(c.id), seq });
      }
    }
    for (const i of fresh) {
      const m = batch[i]!;
      const { conversationId, seq } = seqOf.get(i)!;
      rows.push({ conversation_id: conversationId, seq, sender_id: m.senderId, ope: m.kind, to_id: m.toId, type: m.type, body: m.body, client_msg_id: m.clientMsgId, created_at: now });
    }
    await trx.insertInto('messages').values(rows).execute();

    // Ids back by (conversation, seq): multi-row insert ids are not reliably consecutive on MySQL 8.
    const ids = await trx
      .selectFrom('messages')
      .select(['id', 'conversation_id', 'seq'])
      .where((eb) => eb.or(counters.map((c) => eb.and([
        eb('conversation_id', '=', Number(c.id)),
        eb('seq', '>', Number(c.last_seq) - perKey.get(c.conv_key)!.length),
        eb('seq', '<=', Number(c.last_seq)),
      ]))))
      .execute();
    const idOf = new Map(ids.map((r) => [`${r.conversation_id}:${r.seq}`, Number(r.id)]));
    for (const i of fresh) {
      const { conversationId, seq } = seqOf.get(i)!;
      results[i] = { id: idOf.get(`${conversationId}:${seq}`)!, conversationId, seq, created_at: now, fresh: true };
    }
    // Resends of a message that is itself in this batch share its result.
    const first = firstIndexes(batch);
    for (let i = 0; i < batch.length; i++) if (!results[i]) results[i] = { ...results[first[i]!]!, fresh: false };
    return results as WriteResult[];
  }

  /** Fills `results` for resends of stored messages; returns the indexes still to store. */
  private async resolveReplays(trx: Executor, batch: PendingMessage[], results: Array<WriteResult | undefined>): Promise<number[]> {
    const withId = batch.filter((m) => m.clientMsgId !== null);
    const earlier = new Map<string, WriteResult>();
    if (withId.length > 0) {
      // Exact (sender, client id) pairs: one index probe each. Two IN lists made the database
      // probe every sender with every client id (batch² probes: seconds per batch at 5k msgs/s).
      const found = await trx
        .selectFrom('messages')
        .select(['id', 'conversation_id', 'seq', 'created_at', 'sender_id', 'client_msg_id'])
        .where((eb) => eb.or(withId.map((m) => eb.and([eb('sender_id', '=', m.senderId), eb('client_msg_id', '=', m.clientMsgId!)]))))
        .execute();
      for (const r of found) earlier.set(`${r.sender_id}:${r.client_msg_id}`, {
        id: Number(r.id), conversationId: Number(r.conversation_id), seq: Number(r.seq), created_at: Number(r.created_at), fresh: false,
      });
    }
    const first = firstIndexes(batch);
    const fresh: number[] = [];
    batch.forEach((m, i) => {
      const stored = m.clientMsgId === null ? undefined : earlier.get(`${m.senderId}:${m.clientMsgId}`);
      if (stored) results[i] = stored;
      else if (first[i] === i) fresh.push(i);
    });
    return fresh;
  }
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
