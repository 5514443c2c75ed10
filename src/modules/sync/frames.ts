import { editedFrame, groupEventFrame, messageFrame, reactionFrame, storedUserEventFrame, withdrawnFrame } from '../../notify/frames.js';
import type { GroupEventKind, ServerFrame } from '../../notify/server-frames.js';
import type { EditRow, GroupEventRow, MessageRow, ReactionRow } from './sync.repo.js';

/**
 * A stored message as its Cmd 6 / 10 frame (withdrawn ones carry no body and `Withdrawn: true`). To
 * its sender (`viewerId`) it carries the `ClientMsgId` it was sent with: a device that reconnects
 * with that send unanswered takes the frame as its answer.
 */
export function messageFromRow(row: MessageRow, conversationId: number, viewerId?: number): ServerFrame {
  const own = viewerId !== undefined && Number(row.sender_id) === viewerId && row.client_msg_id !== null;
  return messageFrame({
    fromId: Number(row.sender_id), toId: Number(row.to_id), ope: Number(row.ope), type: Number(row.type), body: row.body,
    id: Number(row.id), convId: conversationId, seq: Number(row.seq), time: Number(row.created_at), withdrawn: row.withdrawn_at !== null,
    ...(own ? { clientMsgId: row.client_msg_id! } : {}),
    replyTo: row.reply_to === null ? null : Number(row.reply_to),
    mentions: row.mentions === null ? null : mentionsOf(row.mentions),
  });
}

/** The withdraw of a message as the Cmd 7 / 11 frame at the withdraw's own seq. */
export function withdrawFromRow(row: Omit<MessageRow, 'client_msg_id' | 'reply_to' | 'mentions' | 'edited_at'>, conversationId: number): ServerFrame {
  return withdrawnFrame({ fromId: Number(row.sender_id), toId: Number(row.to_id), ope: Number(row.ope), id: Number(row.id), convId: conversationId, seq: Number(row.withdraw_seq), time: Number(row.withdrawn_at) });
}

/** An edit of a message as the Cmd 29 frame that was pushed for it, at the edit's own seq. */
export function editFromRow(row: EditRow, conversationId: number): ServerFrame {
  return editedFrame({
    fromId: Number(row.sender_id), toId: Number(row.to_id), ope: Number(row.ope), type: Number(row.type), body: row.body,
    id: Number(row.message_id), convId: conversationId, seq: Number(row.seq), time: Number(row.edited_at),
  });
}

/** A reaction change as the Cmd 30 frame that was pushed for it, at its own seq. */
export function reactionFromRow(row: ReactionRow, conversationId: number): ServerFrame {
  return reactionFrame({
    userId: Number(row.user_id), toId: Number(row.to_id), ope: Number(row.ope), emoji: row.emoji,
    id: Number(row.message_id), convId: conversationId, seq: Number(row.seq), time: Number(row.created_at), on: Number(row.on) === 1,
  });
}

/** A group event as the Cmd 31 frame that was pushed for it, at its own seq. */
export function groupEventFromRow(row: GroupEventRow, conversationId: number): ServerFrame {
  return groupEventFrame({
    actorId: Number(row.actor_id), groupId: Number(row.group_id), kind: row.kind as GroupEventKind, userId: Number(row.user_id), value: Number(row.value),
    convId: conversationId, seq: Number(row.seq), time: Number(row.created_at),
  });
}

/** A stored user event as the frame that was pushed for it. */
export function eventFromRow(row: { seq: number; cmd: number; from_id: number; to_id: number; ope: number; body: string; created_at: number }): ServerFrame {
  return storedUserEventFrame({ cmd: Number(row.cmd), fromId: Number(row.from_id), toId: Number(row.to_id), ope: Number(row.ope), body: row.body, eventSeq: Number(row.seq), time: Number(row.created_at) });
}

/** A message as history shows it. */
export function historyItem(row: Omit<MessageRow, 'client_msg_id'>) {
  return {
    id: Number(row.id), seq: Number(row.seq), from_id: Number(row.sender_id), to_id: Number(row.to_id), ope: Number(row.ope), type: Number(row.type),
    body: row.withdrawn_at === null ? row.body : '', withdrawn: row.withdrawn_at !== null, created_at: Number(row.created_at),
    reply_to: row.reply_to === null ? null : Number(row.reply_to),
    edited_at: row.edited_at === null ? null : Number(row.edited_at),
    mentions: row.mentions === null ? null : mentionsOf(row.mentions),
  };
}

/** `messages.mentions` as frames and history carry it: the ids, or `all`. */
function mentionsOf(text: string): number[] | 'all' {
  return text === 'all' ? 'all' : (JSON.parse(text) as number[]);
}
