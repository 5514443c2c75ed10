import type { Executor } from '../../db/database.js';
import { friendConversationKey } from './conversations.table.js';

/**
 * Closes a friend pair's conversation (their friendship ended) or opens it again, inside the
 * transaction that changes the friendship: the message writer refuses messages to a closed one.
 * Run it after the change to `friends`, so that it locks the two tables in the writer's order. A
 * pair that never exchanged a message has no row and none is made: the writer checks `friends`
 * for a conversation it has not seen stored.
 */
/**
 * Takes the conversation's next seq for an event of its stream that is not a new message (a
 * withdraw, an edit, a reaction, a group event), in the caller's transaction: the row stays locked
 * until it commits, so seqs are handed out one at a time and without gaps.
 */
export async function takeNextSeq(db: Executor, conversationId: number, now: number): Promise<number> {
  await db
    .updateTable('conversations')
    .set((eb) => ({ last_seq: eb('last_seq', '+', 1), last_message_at: now }))
    .where('id', '=', conversationId)
    .execute();
  const { last_seq } = await db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow();
  return Number(last_seq);
}

export async function setFriendConversationClosed(db: Executor, a: number, b: number, closed: boolean): Promise<void> {
  await db.updateTable('conversations').set({ closed: closed ? 1 : 0 }).where('conv_key', '=', friendConversationKey(a, b)).execute();
}
