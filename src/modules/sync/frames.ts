import { Cmd, type Frame, Ope } from '../../notify/notifier.js';
import type { EditRow, GroupEventRow, MessageRow, ReactionRow } from './sync.repo.js';

/**
 * A message as a Cmd 6 / 10 frame (withdrawn ones carry no body and `Withdrawn: true`). To its
 * sender (`viewerId`) it carries the `ClientMsgId` it was sent with: a device that reconnects with
 * that send unanswered takes the frame as its answer.
 */
export function messageFrame(row: MessageRow, conversationId: number, viewerId?: number): Frame {
  const group = Number(row.ope) === Ope.Group;
  const own = viewerId !== undefined && Number(row.sender_id) === viewerId && row.client_msg_id !== null;
  return {
    Cmd: group ? Cmd.GroupMessage : Cmd.FriendMessage,
    FromId: Number(row.sender_id), ToId: Number(row.to_id), Ope: Number(row.ope), Type: Number(row.type), Body: row.withdrawn_at === null ? row.body : '',
    Id: Number(row.id), ConvId: conversationId, Seq: Number(row.seq), Time: Number(row.created_at),
    ...(row.withdrawn_at === null ? {} : { Withdrawn: true }),
    ...(own ? { ClientMsgId: row.client_msg_id! } : {}),
    ...(row.reply_to === null ? {} : { ReplyTo: Number(row.reply_to) }),
    ...(row.mentions === null ? {} : { Mentions: mentionsOf(row.mentions) }),
  };
}

/** The withdraw of a message as a Cmd 7 / 11 frame at the withdraw's own seq. */
export function withdrawFrame(row: Omit<MessageRow, 'client_msg_id' | 'reply_to' | 'mentions' | 'edited_at'>, conversationId: number): Frame {
  const group = Number(row.ope) === Ope.Group;
  return {
    Cmd: group ? Cmd.GroupMessageWithdrawn : Cmd.FriendMessageWithdrawn,
    FromId: Number(row.sender_id), ToId: Number(row.to_id), Ope: Number(row.ope), Type: 0, Body: String(row.id),
    Id: Number(row.id), ConvId: conversationId, Seq: Number(row.withdraw_seq), Time: Number(row.withdrawn_at),
  };
}

/** An edit of a message as the Cmd 29 frame that was pushed for it, at the edit's own seq. */
export function editFrame(row: EditRow, conversationId: number): Frame {
  return {
    Cmd: Cmd.MessageEdited, FromId: Number(row.sender_id), ToId: Number(row.to_id), Ope: Number(row.ope), Type: Number(row.type), Body: row.body,
    Id: Number(row.message_id), ConvId: conversationId, Seq: Number(row.seq), Time: Number(row.edited_at),
  };
}

/** A reaction change as the Cmd 30 frame that was pushed for it, at its own seq. */
export function reactionFrame(row: ReactionRow, conversationId: number): Frame {
  return {
    Cmd: Cmd.ReactionChanged, FromId: Number(row.user_id), ToId: Number(row.to_id), Ope: Number(row.ope), Type: 0, Body: row.emoji,
    Id: Number(row.message_id), ConvId: conversationId, Seq: Number(row.seq), Time: Number(row.created_at), On: Number(row.on),
  };
}

/** A group administration event as the Cmd 31 frame that was pushed for it, at its own seq. */
export function groupEventFrame(row: GroupEventRow, conversationId: number): Frame {
  return {
    Cmd: Cmd.GroupEvent, FromId: Number(row.actor_id), ToId: Number(row.group_id), Ope: Ope.Group, Type: 0, Body: row.kind,
    ConvId: conversationId, Seq: Number(row.seq), Time: Number(row.created_at), Target: Number(row.user_id), Value: Number(row.value),
  };
}

/** A stored user event as the frame that was pushed for it. */
export function eventFrame(row: { seq: number; cmd: number; from_id: number; to_id: number; ope: number; body: string; created_at: number }): Frame {
  return {
    Cmd: Number(row.cmd), FromId: Number(row.from_id), ToId: Number(row.to_id), Ope: Number(row.ope), Type: 0, Body: row.body,
    EventSeq: Number(row.seq), Time: Number(row.created_at),
  };
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
