import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';

export async function findMessageForUpdate(db: Executor, id: number) {
  return forUpdate(db, db.selectFrom('messages').select(['id', 'sender_id', 'ope', 'to_id', 'created_at', 'withdrawn_at']).where('id', '=', id)).executeTakeFirst();
}

/** Marks a message withdrawn and drops its body. */
export async function markWithdrawn(db: Executor, id: number, now: number): Promise<void> {
  await db.updateTable('messages').set({ withdrawn_at: now, body: '' }).where('id', '=', id).execute();
}
