import { type Compilable, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { forShare } from '../../db/locking.js';
import { type BatchStatements, type CounterRow, countersByKey, idsInRowOrder, type MessageRow } from './batch-statements.js';

/**
 * MySQL/MariaDB statements of a message batch. Every statement is a round trip that waits for
 * the server to be scheduled, so the batch uses as few as it can:
 *
 * - MariaDB ≥ 10.5 (`returning`): the counter upsert reports each conversation's id and new
 *   `last_seq` (MariaDB's RETURNING after ON DUPLICATE KEY UPDATE shows the updated row), and the
 *   message insert reports its ids: 2 statements.
 * - MySQL (no RETURNING): upsert, read the counters back, insert, read the ids back by
 *   (conversation, seq): 4 statements.
 *
 * Why RETURNING for the ids rather than insertId + row index: consecutive ids from one
 * multi-row insert hold only with innodb_autoinc_lock_mode 0 or 1 and auto_increment_increment
 * 1 (Galera, MySQL 8's default mode 2 and multi-primary setups break them, and a wrong guess
 * would hand out other messages' ids). RETURNING reports the stored ids whatever the server
 * settings, and the same feature removes the counter read, which insertId cannot.
 */
export function mysqlStatements(options: { returning: boolean }): BatchStatements {
  return options.returning ? mariadbReturning : mysqlSelectBack;
}

/** The statements for the server behind `db`, from its version (one query; cache the answer). */
export async function mysqlStatementsFor(db: Executor): Promise<BatchStatements> {
  const { rows } = await sql<{ version: string }>`select version() as version`.execute(db);
  return mysqlStatements({ returning: hasInsertReturning(rows[0]?.version ?? '') });
}

/** True for MariaDB 10.5 and later (`10.11.19-MariaDB-0+deb12u1`, or `5.5.5-10.11.19-MariaDB` behind some proxies). */
export function hasInsertReturning(version: string): boolean {
  const match = /(\d+)\.(\d+)\.\d+-MariaDB/i.exec(version);
  if (!match) return false;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 10 || (major === 10 && minor >= 5);
}

const mariadbReturning: BatchStatements = {
  async advanceCounters(trx, rows) {
    return countersByKey(await returnedRows(trx, upsertCounters(trx, rows).returning(['id', 'conv_key', 'last_seq', 'closed'])));
  },
  async insertMessages(trx, rows) {
    return idsInRowOrder(rows, await returnedRows(trx, insertReturning(trx, rows)));
  },
  async insertMessagesAndCommit(trx, rows) {
    // Two statements, one round trip: the server stops at the first that fails, so a refused
    // insert never commits. The driver answers with one result per statement: the insert's rows,
    // then the COMMIT's status.
    const compiled = insertReturning(trx, rows).compile();
    const { rows: results } = await trx.executeQuery<unknown>({ ...compiled, sql: `${compiled.sql}; commit` });
    const inserted = results[0];
    if (!Array.isArray(inserted) || results.length !== 2) throw new Error('insert and commit: unexpected answer (is multipleStatements on?)');
    return idsInRowOrder(rows, inserted as Array<{ id: number; conversation_id: number; seq: number }>);
  },
};

function insertReturning(trx: Executor, rows: readonly MessageRow[]) {
  return trx.insertInto('messages').values(rows).returning(['id', 'conversation_id', 'seq']);
}

const mysqlSelectBack: BatchStatements = {
  async advanceCounters(trx, rows) {
    await upsertCounters(trx, rows).execute();
    const keys = rows.map((r) => r.conv_key);
    // A locking read: it reads the rows as they are now. A plain one reads the transaction's
    // snapshot, which an earlier plain read (a resend lookup) may have fixed before an unfriend
    // committed; the upsert leaves a closed row unchanged, so it would read it as still open.
    // The rows are locked by the upsert already: this waits for nothing.
    return countersByKey(await forShare(trx, trx.selectFrom('conversations').select(['id', 'conv_key', 'last_seq', 'closed']).where('conv_key', 'in', keys)).execute());
  },
  async insertMessages(trx, rows) {
    await trx.insertInto('messages').values(rows).execute();
    // Each conversation's messages in a batch hold a contiguous seq range: one range per conversation.
    const ranges = new Map<number, { from: number; to: number }>();
    for (const r of rows) {
      const range = ranges.get(r.conversation_id);
      if (range) range.to = Math.max(range.to, r.seq);
      else ranges.set(r.conversation_id, { from: r.seq, to: r.seq });
    }
    const stored = await trx
      .selectFrom('messages')
      .select(['id', 'conversation_id', 'seq'])
      .where((eb) => eb.or([...ranges].map(([conversationId, { from, to }]) => eb.and([
        eb('conversation_id', '=', conversationId),
        eb('seq', '>=', from),
        eb('seq', '<=', to),
      ]))))
      .execute();
    return idsInRowOrder(rows, stored);
  },
};

/**
 * One upsert for every counter: a new conversation starts at its share, an existing one advances
 * by it, a closed one stays as it is (`values(last_seq)` is the share: MySQL 8's `AS new` alias
 * is a syntax error on MariaDB).
 */
function upsertCounters(trx: Executor, rows: readonly CounterRow[]) {
  return trx
    .insertInto('conversations')
    .values(rows)
    .onDuplicateKeyUpdate({
      last_seq: sql<number>`if(closed = 0, last_seq + values(last_seq), last_seq)`,
      last_message_at: sql<number>`if(closed = 0, values(last_message_at), last_message_at)`,
    });
}

/**
 * The rows of an INSERT … RETURNING on MariaDB. Kysely's `.execute()` drops them on MySQL
 * dialects (MysqlAdapter.supportsReturning is false, so it answers with counts), while the
 * driver does pass result rows through: run the compiled query directly.
 */
async function returnedRows<R>(trx: Executor, query: Compilable<R>): Promise<R[]> {
  return (await trx.executeQuery(query)).rows;
}
