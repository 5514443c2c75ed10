import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';

export async function findMessageForUpdate(db: Executor, id: number) {
  return forUpdate(
    db,
    db.selectFrom('messages').select(['id', 'conversation_id', 'sender_id', 'ope', 'to_id', 'type', 'created_at', 'withdrawn_at']).where('id', '=', id),
  ).executeTakeFirst();
}

/** Takes the conversation's next seq (for an event of its stream: a withdraw, an edit), in the caller's transaction. */
async function nextSeq(db: Executor, conversationId: number, now: number): Promise<number> {
  await db
    .updateTable('conversations')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_message_at: now }))
    .where('id', '=', conversationId)
    .execute();
  const { last_seq } = await db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
  return Number(last_seq);
}

/** Marks a message withdrawn, drops its body (and its edits') and gives the withdraw the conversation's next seq. */
export async function markWithdrawn(db: Executor, id: number, conversationId: number, now: number): Promise<number> {
  const seq = await nextSeq(db, conversationId, now);
  await db.updateTable('messages').set({ withdrawn_at: now, body: '', withdraw_seq: seq }).where('id', '=', id).execute();
  await db.updateTable('message_edits').set({ body: '' }).where('message_id', '=', id).execute();
  return seq;
}

/** Sets a message's body, recording the edit at the conversation's next seq; returns that seq. */
export async function recordEdit(db: Executor, id: number, conversationId: number, body: string, now: number): Promise<number> {
  const seq = await nextSeq(db, conversationId, now);
  await db.updateTable('messages').set({ body, edited_at: now }).where('id', '=', id).execute();
  await db.insertInto('message_edits').values({ conversation_id: conversationId, seq, message_id: id, body, edited_at: now }).execute();
  return seq;
}
