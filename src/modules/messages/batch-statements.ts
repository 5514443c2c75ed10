import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { MessagesTable } from './messages.table.js';

/** A conversation row as a batch upserts it: `last_seq` is the conversation's share of the batch. */
export interface CounterRow {
  conv_key: string;
  kind: number;
  user_lo: number | null;
  user_hi: number | null;
  group_id: number | null;
  last_seq: number;
  last_message_at: number;
}

/** A conversation after the batch advanced it: its id and its new `last_seq`; a closed one was not advanced. */
export interface Counter {
  id: number;
  lastSeq: number;
  /** A friend pair whose friendship ended (`conversations.closed`): its messages are refused. */
  closed: boolean;
}

/** A message row as a batch inserts it (the table's columns but its id and withdraw state). */
export type MessageRow = Pick<MessagesTable, 'conversation_id' | 'seq' | 'sender_id' | 'ope' | 'to_id' | 'type' | 'body' | 'client_msg_id' | 'created_at'> & { reply_to: number | null; mentions: string | null };

/**
 * The dialect-specific statements of one message batch, run inside its transaction (which the
 * writer opens and commits; each statement here is a round trip on MySQL/MariaDB).
 */
export interface BatchStatements {
  /**
   * Creates the conversations that do not exist yet with `last_seq` = their share, and advances
   * the others by it, in one statement (an upsert, so the row is locked from its first touch;
   * MySQL holds the lock until commit), except closed ones, which it leaves as they are. Returns
   * every key's conversation id, new `last_seq` and whether it is closed.
   */
  advanceCounters(trx: Executor, rows: readonly CounterRow[]): Promise<Map<string, Counter>>;
  /** Inserts the messages; returns their `messages.id` values in row order. */
  insertMessages(trx: Executor, rows: readonly MessageRow[]): Promise<number[]>;
  /**
   * `insertMessages` and the COMMIT of the transaction in one round trip (a query of two
   * statements), where the dialect can: on `trx` of a manual-commit session that allows several
   * statements a query (`DbHandle.openManualCommit`), never in a transaction Kysely opened.
   */
  insertMessagesAndCommit?(trx: Executor, rows: readonly MessageRow[]): Promise<number[]>;
}

/**
 * SQLite: the upsert and the insert report their rows through RETURNING (supported by SQLite and
 * by Kysely's SQLite adapter; never use `.returning()` in code that also runs on MySQL).
 */
export const sqliteStatements: BatchStatements = {
  async advanceCounters(trx, rows) {
    const counters = await trx
      .insertInto('conversations')
      .values(rows)
      .onConflict((oc) => oc.column('conv_key').doUpdateSet({
        last_seq: sql<number>`case when conversations.closed = 0 then conversations.last_seq + excluded.last_seq else conversations.last_seq end`,
        last_message_at: sql<number>`case when conversations.closed = 0 then excluded.last_message_at else conversations.last_message_at end`,
      }))
      .returning(['id', 'conv_key', 'last_seq', 'closed'])
      .execute();
    return countersByKey(counters);
  },
  async insertMessages(trx, rows) {
    const inserted = await trx.insertInto('messages').values(rows).returning(['id', 'conversation_id', 'seq']).execute();
    return idsInRowOrder(rows, inserted);
  },
};

export function countersByKey(rows: ReadonlyArray<{ id: number; conv_key: string; last_seq: number; closed: number }>): Map<string, Counter> {
  return new Map(rows.map((c) => [c.conv_key, { id: Number(c.id), lastSeq: Number(c.last_seq), closed: Number(c.closed) !== 0 }]));
}

/**
 * The ids of `rows`, in their order, matched by (conversation, seq), which is unique: neither
 * SQLite nor MariaDB promises the order of RETURNING rows. Throws if a row is missing, so that
 * a wrong id can never be handed out (the transaction then rolls back).
 */
export function idsInRowOrder(rows: readonly MessageRow[], stored: ReadonlyArray<{ id: number; conversation_id: number; seq: number }>): number[] {
  const idOf = new Map(stored.map((r) => [`${Number(r.conversation_id)}:${Number(r.seq)}`, Number(r.id)]));
  return rows.map((r) => {
    const id = idOf.get(`${r.conversation_id}:${r.seq}`);
    if (id === undefined) throw new Error(`message ${r.conversation_id}:${r.seq} not found after its insert`);
    return id;
  });
}
