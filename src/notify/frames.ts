import type { AppError } from '../errors.js';
import type { Locale } from '../i18n.js';
import { Cmd, Ope } from './cmd.js';
import type { FrameOf, GroupEventKind } from './server-frames.js';

/**
 * One builder per server frame: every service and the gateway build their frames here, and each
 * builder's return type is the frame's schema in server-frames.ts, so a frame cannot drift from
 * what docs/protocol.md and the AsyncAPI document say.
 */

const SYSTEM = { FromId: 0, ToId: 0, Ope: Ope.System, Type: 0 } as const;

/** Ope of a conversation frame: 1 group, else 0 (friend). */
function conversationOpe(ope: number): 0 | 1 {
  return ope === Ope.Group ? 1 : 0;
}

/** Cmd 2: refused, with the error's text in `locale`, its envelope code (docs/api.md, e.g. 1503 retry) and its reason key. */
export function failFrame(error: AppError, locale: Locale, clientMsgId?: string): FrameOf<typeof Cmd.Fail> {
  return { Cmd: Cmd.Fail, ...SYSTEM, Body: error.text(locale), ...(clientMsgId ? { ClientMsgId: clientMsgId } : {}), Code: error.code, Reason: error.reason };
}

/** Cmd 4: signed in; `features` only when the sign-in declared some. */
export function signedInFrame(userId: number, features?: readonly string[]): FrameOf<typeof Cmd.SignSuccess> {
  return { Cmd: Cmd.SignSuccess, ...SYSTEM, Body: String(userId), ...(features ? { Features: [...features] } : {}) };
}

export interface MessageFields {
  fromId: number;
  toId: number;
  /** Ope: 0 friend, 1 group. */
  ope: number;
  type: number;
  body: string;
  id: number;
  convId: number;
  seq: number;
  time: number;
  withdrawn?: boolean;
  clientMsgId?: string;
  replyTo?: number | null;
  mentions?: number[] | 'all' | null;
}

/** Cmd 6 (friend) or 10 (group): a message; a withdrawn one has no body and `Withdrawn: true`. */
export function messageFrame(m: MessageFields): FrameOf<typeof Cmd.FriendMessage> | FrameOf<typeof Cmd.GroupMessage> {
  return {
    Cmd: m.ope === Ope.Group ? Cmd.GroupMessage : Cmd.FriendMessage,
    FromId: m.fromId, ToId: m.toId, Ope: conversationOpe(m.ope), Type: m.type, Body: m.withdrawn ? '' : m.body,
    Id: m.id, ConvId: m.convId, Seq: m.seq, Time: m.time,
    ...(m.withdrawn ? { Withdrawn: true as const } : {}),
    ...(m.clientMsgId ? { ClientMsgId: m.clientMsgId } : {}),
    ...(m.replyTo == null ? {} : { ReplyTo: m.replyTo }),
    ...(m.mentions == null ? {} : { Mentions: m.mentions }),
  };
}

/** Cmd 7 (friend) or 11 (group): message `id` was withdrawn, an event at the withdraw's own `seq`. */
export function withdrawnFrame(w: { fromId: number; toId: number; ope: number; id: number; convId: number; seq: number; time: number }): FrameOf<typeof Cmd.FriendMessageWithdrawn> | FrameOf<typeof Cmd.GroupMessageWithdrawn> {
  return {
    Cmd: w.ope === Ope.Group ? Cmd.GroupMessageWithdrawn : Cmd.FriendMessageWithdrawn,
    FromId: w.fromId, ToId: w.toId, Ope: conversationOpe(w.ope), Type: 0, Body: String(w.id), Id: w.id, ConvId: w.convId, Seq: w.seq, Time: w.time,
  };
}

/** The Cmds of a user's event stream (stored in `user_events`, numbered by EventSeq). */
export type UserEventCmd = typeof Cmd.FriendRequest | typeof Cmd.FriendAccepted | typeof Cmd.GroupJoinRequest | typeof Cmd.GroupJoinAccepted | typeof Cmd.GroupKicked | typeof Cmd.ServerPush;
/** A user event before it takes its place in the stream (recordUserEvent adds `EventSeq` and `Time`). */
export type UserEventFrame = Omit<FrameOf<UserEventCmd>, 'EventSeq' | 'Time'>;
/** A user event at its place in the stream, as it is pushed and synced. */
export type StoredUserEventFrame = FrameOf<UserEventCmd> & { EventSeq: number; Time: number };

/** Cmd 8, 9 (friends; Ope 0) and 12, 13, 14 (groups; `toId` the group, Ope 1): a social event for one user. */
export function userEventFrame(cmd: Exclude<UserEventCmd, typeof Cmd.ServerPush>, fromId: number, toId: number, body = ''): UserEventFrame {
  const group = cmd === Cmd.GroupJoinRequest || cmd === Cmd.GroupJoinAccepted || cmd === Cmd.GroupKicked;
  return { Cmd: cmd, FromId: fromId, ToId: toId, Ope: group ? Ope.Group : Ope.Friend, Type: 0, Body: body };
}

/** Cmd 25: a business backend's push to user `toId` (0: a broadcast), `Body` as sent. */
export function serverPushFrame(toId: number, body: string): Omit<FrameOf<typeof Cmd.ServerPush>, 'EventSeq' | 'Time'> {
  return { Cmd: Cmd.ServerPush, FromId: 0, ToId: toId, Ope: Ope.System, Type: 0, Body: body };
}

/** A stored user event (a `user_events` row) as the frame that was pushed for it. */
export function storedUserEventFrame(e: { cmd: number; fromId: number; toId: number; ope: number; body: string; eventSeq: number; time: number }): StoredUserEventFrame {
  return { Cmd: e.cmd as UserEventCmd, FromId: e.fromId, ToId: e.toId, Ope: e.ope, Type: 0, Body: e.body, EventSeq: e.eventSeq, Time: e.time } as StoredUserEventFrame;
}

/** Cmd 16: the answer to a Ping. */
export function pongFrame(): FrameOf<typeof Cmd.Pong> {
  return { Cmd: Cmd.Pong, ...SYSTEM, Body: '' };
}

/** Cmd 18: the message of a Send (Cmd 17) was stored. */
export function sendAckFrame(a: { fromId: number; toId: number; ope: number; type: number; id: number; convId: number; seq: number; time: number; clientMsgId?: string }): FrameOf<typeof Cmd.SendAck> {
  return {
    Cmd: Cmd.SendAck, FromId: a.fromId, ToId: a.toId, Ope: conversationOpe(a.ope), Type: a.type, Body: '',
    Id: a.id, ConvId: a.convId, Seq: a.seq, Time: a.time, ...(a.clientMsgId ? { ClientMsgId: a.clientMsgId } : {}),
  };
}

/** Cmd 19: friend `userId`'s first device came online, or the last went offline. */
export function presenceFrame(userId: number, online: boolean): FrameOf<typeof Cmd.Presence> {
  return { Cmd: Cmd.Presence, FromId: userId, ToId: 0, Ope: Ope.System, Type: 0, Body: online ? 'online' : 'offline' };
}

/** Cmd 21: `readerId` read conversation `convId` (with `toId`: the peer, or the group) up to `seq`. */
export function readNoticeFrame(r: { readerId: number; toId: number; ope: number; convId: number; seq: number }): FrameOf<typeof Cmd.ReadNotice> {
  return { Cmd: Cmd.ReadNotice, FromId: r.readerId, ToId: r.toId, Ope: conversationOpe(r.ope), Type: 0, Body: String(r.seq), ConvId: r.convId, Seq: r.seq };
}

/** Cmd 23: the sync is done; `token` holds the cursors after it; `more`: ask again with it. */
export function syncDoneFrame(token: string, more: boolean): FrameOf<typeof Cmd.SyncDone> {
  return { Cmd: Cmd.SyncDone, ...SYSTEM, Body: token, More: more };
}

/** Cmd 24: pushes to this socket may have been lost; sync now. */
export function syncNeededFrame(): FrameOf<typeof Cmd.SyncNeeded> {
  return { Cmd: Cmd.SyncNeeded, ...SYSTEM, Body: '' };
}

/** Cmd 26: this node closes the socket in `inMs` ms; reconnect (elsewhere) then, or sooner. */
export function reconnectFrame(inMs: number): FrameOf<typeof Cmd.Reconnect> {
  return { Cmd: Cmd.Reconnect, ...SYSTEM, Body: String(Math.max(0, Math.round(inMs))) };
}

/** Cmd 28: `fromId` is typing to you (Ope 0) or in group `toId` (Ope 1). */
export function typingFrame(fromId: number, toId: number, ope: number): FrameOf<typeof Cmd.TypingNotice> {
  return { Cmd: Cmd.TypingNotice, FromId: fromId, ToId: toId, Ope: conversationOpe(ope), Type: 0, Body: '' };
}

/** Cmd 29: message `id` now reads `body`, an event of its conversation at `seq`. */
export function editedFrame(e: { fromId: number; toId: number; ope: number; type: number; body: string; id: number; convId: number; seq: number; time: number }): FrameOf<typeof Cmd.MessageEdited> {
  return { Cmd: Cmd.MessageEdited, FromId: e.fromId, ToId: e.toId, Ope: conversationOpe(e.ope), Type: e.type, Body: e.body, Id: e.id, ConvId: e.convId, Seq: e.seq, Time: e.time };
}

/** Cmd 30: `userId` put (`on`) or took off emoji `emoji` on message `id`, an event at `seq`. */
export function reactionFrame(r: { userId: number; toId: number; ope: number; emoji: string; id: number; convId: number; seq: number; time: number; on: boolean }): FrameOf<typeof Cmd.ReactionChanged> {
  return { Cmd: Cmd.ReactionChanged, FromId: r.userId, ToId: r.toId, Ope: conversationOpe(r.ope), Type: 0, Body: r.emoji, Id: r.id, ConvId: r.convId, Seq: r.seq, Time: r.time, On: r.on ? 1 : 0 };
}

/** Cmd 31: `actorId` did `kind` to `userId` (0: nobody) in group `groupId`, an event of its stream at `seq`. */
export function groupEventFrame(g: { actorId: number; groupId: number; kind: GroupEventKind; userId: number; value: number; convId: number; seq: number; time: number }): FrameOf<typeof Cmd.GroupEvent> {
  return { Cmd: Cmd.GroupEvent, FromId: g.actorId, ToId: g.groupId, Ope: Ope.Group, Type: 0, Body: g.kind, ConvId: g.convId, Seq: g.seq, Time: g.time, Target: g.userId, Value: g.value };
}
