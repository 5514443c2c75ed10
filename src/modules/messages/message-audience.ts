import type { Executor } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { Ope } from '../../notify/notifier.js';
import { ConversationKind } from '../conversations/index.js';
import { memberIds } from '../groups/index.js';
import { notEntitled } from './messages.schema.js';

/**
 * Who sees a change to a stored message (an edit, a reaction), checked for `userId` who makes it,
 * in the caller's transaction: in a group, its members (403 unless `userId` is one); between
 * friends, the pair (404 for anyone else: a stranger learns nothing of others' messages; 403 once
 * their friendship ended, which closed the conversation).
 */
export async function messageAudience(
  trx: Executor,
  row: { conversation_id: number; sender_id: number; ope: number; to_id: number },
  userId: number,
): Promise<number[]> {
  if (Number(row.ope) === Ope.Group) {
    const members = await memberIds(trx, Number(row.to_id));
    if (!members.includes(userId)) throw notEntitled(ConversationKind.Group);
    return members;
  }
  const pair = [Number(row.sender_id), Number(row.to_id)];
  if (!pair.includes(userId)) throw new AppError('message_not_found');
  const conversation = await trx.selectFrom('conversations').select('closed').where('id', '=', Number(row.conversation_id)).executeTakeFirstOrThrow();
  if (Number(conversation.closed) !== 0) throw notEntitled(ConversationKind.Friend);
  return pair;
}
