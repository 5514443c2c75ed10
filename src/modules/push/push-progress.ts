import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';

/** `push_progress`: how far one push operation (an Idempotency-Key's) got; see migration 0029. */
export interface PushProgressTable {
  op: string;
  /** Every known user up to this id has been pushed (users go in ascending order). */
  done_through: number;
  created_at: number;
}

/** Makes sure the operation has its row (done through 0 when new). */
export async function startProgress(db: Executor, op: string, now: number): Promise<void> {
  await db.insertInto('push_progress').values({ op, done_through: 0, created_at: now }).orIgnore().execute();
}

/**
 * Where the operation stands, read inside a batch's transaction and locked (MySQL) until it
 * commits: two attempts of one operation running at once take their batches one after the other,
 * and the second skips what the first stored.
 */
export async function progressOf(trx: Executor, op: string): Promise<number> {
  const row = await forUpdate(trx, trx.selectFrom('push_progress').select('done_through').where('op', '=', op)).executeTakeFirst();
  return Number(row?.done_through ?? 0);
}

export async function advanceProgress(trx: Executor, op: string, doneThrough: number): Promise<void> {
  await trx.updateTable('push_progress').set({ done_through: doneThrough }).where('op', '=', op).where('done_through', '<', doneThrough).execute();
}

/** Deletes the progress of operations begun before `before` (epoch ms; their keys have expired); returns how many. */
export async function pruneProgress(db: Executor, before: number): Promise<number> {
  const result = await db.deleteFrom('push_progress').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}
