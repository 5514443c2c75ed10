import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';

export async function findMessageForUpdate(db: Executor, id: number) {
  return forUpdate(
    db,
    db.selectFrom('messages').select(['id', 'conversation_id', 'sender_id', 'ope', 'to_id', 'created_at', 'withdrawn_at']).where('id', '=', id),
  ).executeTakeFirst();
}

/** Marks a message withdrawn, drops its body and gives the withdraw the conversation's next seq. */
export async function markWithdrawn(db: Executor, id: number, conversationId: number, now: number): Promise<number> {
  await db
    .updateTable('conversations')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_message_at: now }))
    .where('id', '=', conversationId)
    .execute();
  const { last_seq } = await db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
  const seq = Number(last_seq);
  await db.updateTable('messages').set({ withdrawn_at: now, body: '', withdraw_seq: seq }).where('id', '=', id).execute();
  return seq;
}
