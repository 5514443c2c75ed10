import type { Executor } from '../../db/database.js';
import { Feature } from '../../notify/features.js';
import { groupEventFrame } from '../../notify/frames.js';
import type { Notification } from '../../notify/notifier.js';
import type { GroupEventKind } from '../../notify/server-frames.js';
import { ConversationKind, groupConversationKey, takeNextSeq } from '../conversations/index.js';

export type { GroupEventKind };

export interface GroupEvent {
  groupId: number;
  /** Who did it (for `join` by an open group's request and `leave`: the member themself). */
  actorId: number;
  kind: GroupEventKind;
  /** The member it is about (0: none). */
  userId: number;
  value: number;
  conversationId: number;
  seq: number;
  at: number;
}

/**
 * Records a group event at the group conversation's next seq (`group_events`), inside the caller's
 * transaction, which holds the group's lock.
 */
export async function recordGroupEvent(
  trx: Executor,
  e: { groupId: number; actorId: number; kind: GroupEventKind; userId?: number; value?: number; now: number },
): Promise<GroupEvent> {
  const conversationId = await groupConversation(trx, e.groupId, e.now);
  const seq = await takeNextSeq(trx, conversationId, e.now);
  const event = { groupId: e.groupId, actorId: e.actorId, kind: e.kind, userId: e.userId ?? 0, value: e.value ?? 0, conversationId, seq, at: e.now };
  await trx
    .insertInto('group_events')
    .values({ conversation_id: conversationId, seq, group_id: e.groupId, actor_id: e.actorId, kind: e.kind, user_id: event.userId, value: event.value, created_at: e.now })
    .execute();
  return event;
}

/** The Cmd 31 push of an event to `recipients` (the members after it), for sockets that declared `group-events`. */
export function groupEventNotification(event: GroupEvent, recipients: number[]): Notification {
  return {
    userIds: recipients,
    frame: groupEventFrame({ actorId: event.actorId, groupId: event.groupId, kind: event.kind, userId: event.userId, value: event.value, convId: event.conversationId, seq: event.seq, time: event.at }),
    stream: { key: `c${event.conversationId}`, seq: event.seq },
    feature: Feature.GroupEvents,
  };
}

/** The group's conversation id, made (with no messages yet) when the group has none. */
async function groupConversation(trx: Executor, groupId: number, now: number): Promise<number> {
  const key = groupConversationKey(groupId);
  const found = await trx.selectFrom('conversations').select('id').where('conv_key', '=', key).executeTakeFirst();
  if (found) return Number(found.id);
  await trx.insertInto('conversations').values({ conv_key: key, kind: ConversationKind.Group, user_lo: null, user_hi: null, group_id: groupId, last_seq: 0, last_message_at: now }).execute();
  return Number((await trx.selectFrom('conversations').select('id').where('conv_key', '=', key).executeTakeFirstOrThrow()).id);
}
