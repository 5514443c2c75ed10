import type { Executor } from '../../db/database.js';
import { friendConversationKey } from './conversations.table.js';

/**
 * Closes a friend pair's conversation (their friendship ended) or opens it again, inside the
 * transaction that changes the friendship: the message writer refuses messages to a closed one.
 * Run it after the change to `friends`, so that it locks the two tables in the writer's order. A
 * pair that never exchanged a message has no row and none is made: the writer checks `friends`
 * for a conversation it has not seen stored.
 */
export async function setFriendConversationClosed(db: Executor, a: number, b: number, closed: boolean): Promise<void> {
  await db.updateTable('conversations').set({ closed: closed ? 1 : 0 }).where('conv_key', '=', friendConversationKey(a, b)).execute();
}
