import { z } from 'zod';
import { Cmd } from './cmd.js';

/**
 * Every frame the server sends, as zod schemas: the one definition of their shapes. The builders
 * in frames.ts return these types (`FrameOf<Cmd>`), the AsyncAPI document (gateway/asyncapi.ts)
 * is made from them, and a test checks docs/protocol.md's examples against them. The server does
 * not parse its own frames at run time: the types hold the builders to the schemas.
 */
const id = z.number().int().positive();
const seq = z.number().int().min(0);
const time = z.number().int().positive().describe('epoch milliseconds');
const system = { FromId: z.literal(0), ToId: z.literal(0), Ope: z.literal(2), Type: z.literal(0) };
const ope = z.union([z.literal(0), z.literal(1)]).describe('0 friend, 1 group');
const flag = z.union([z.literal(0), z.literal(1)]);
const frame = <C extends number, S extends z.ZodRawShape>(cmd: C, title: string, shape: S) => z.object({ Cmd: z.literal(cmd), ...shape }).strict().describe(title);

const conversationItem = <C extends number, B extends z.ZodType<string>>(cmd: C, title: string, body: B) =>
  frame(cmd, title, {
    FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: body, Id: id, ConvId: id, Seq: seq.min(1), Time: time,
    Withdrawn: z.literal(true).optional(), ClientMsgId: z.string().max(64).optional().describe('in a sync, on the user\'s own messages'),
    ReplyTo: id.optional().describe('the message of this conversation it answers'),
    Mentions: z.union([z.literal('all'), z.array(id)]).optional().describe('group messages: the members it mentions, or all'),
  });
const withdrawItem = <C extends number>(cmd: C, title: string) =>
  frame(cmd, title, { FromId: id, ToId: id, Ope: ope, Type: z.literal(0), Body: z.string().regex(/^\d+$/), Id: id, ConvId: id, Seq: seq.min(1), Time: time });
const eventItem = <C extends number>(cmd: C, title: string) =>
  frame(cmd, title, { FromId: z.number().int().min(0), ToId: id, Ope: z.number().int(), Type: z.literal(0), Body: z.string(), EventSeq: seq.min(1), Time: time });

/** What a Cmd 31 `Body` says happened. */
export const groupEventKinds = ['admin', 'mute', 'mute_all', 'transfer', 'update', 'dissolve', 'join', 'invite', 'leave', 'kick'] as const;
export type GroupEventKind = (typeof groupEventKinds)[number];

export const serverFrames = [
  frame(Cmd.Fail, 'Refused: Body says why (in the socket\'s language); ClientMsgId of the refused send; Code the envelope code (1005 rate limited, 1503 retry); Reason the stable key of the rule (docs/errors.md)', { ...system, Body: z.string(), ClientMsgId: z.string().optional(), Code: z.number().int().optional(), Reason: z.string().optional() }),
  frame(Cmd.SignSuccess, 'Signed in: Body is the user id; Features: the declared features accepted (only when the sign-in declared some)', { ...system, Body: z.string().regex(/^\d+$/), Features: z.array(z.string()).optional() }),
  conversationItem(Cmd.FriendMessage, 'Friend message', z.string()),
  withdrawItem(Cmd.FriendMessageWithdrawn, 'Friend message withdrawn: Body is its id'),
  eventItem(Cmd.FriendRequest, 'Friend request'),
  eventItem(Cmd.FriendAccepted, 'Friend request accepted'),
  conversationItem(Cmd.GroupMessage, 'Group message', z.string()),
  withdrawItem(Cmd.GroupMessageWithdrawn, 'Group message withdrawn: Body is its id'),
  eventItem(Cmd.GroupJoinRequest, 'Group join request'),
  eventItem(Cmd.GroupJoinAccepted, 'Group join accepted'),
  eventItem(Cmd.GroupKicked, 'Removed from a group'),
  frame(Cmd.Pong, 'Pong', { ...system, Body: z.literal('') }),
  frame(Cmd.SendAck, 'Send stored (ack)', { FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: z.literal(''), Id: id, ConvId: id, Seq: seq.min(1), Time: time, ClientMsgId: z.string().max(64).optional() }),
  frame(Cmd.Presence, 'Presence of a friend', { FromId: id, ToId: z.literal(0), Ope: z.literal(2), Type: z.literal(0), Body: z.enum(['online', 'offline']) }),
  frame(Cmd.ReadNotice, 'Read notice: FromId read ConvId up to Seq', { FromId: id, ToId: id, Ope: ope, Type: z.literal(0), Body: z.string(), ConvId: id, Seq: seq }),
  frame(Cmd.SyncDone, 'Sync done: Body is the token of the new cursors; More: another page to ask for', { ...system, Body: z.string(), More: z.boolean() }),
  frame(Cmd.SyncNeeded, 'Sync needed: pushes may have been lost, sync from your cursors', { ...system, Body: z.string() }),
  frame(Cmd.ServerPush, 'Server push from a business backend', { FromId: z.literal(0), ToId: z.number().int().min(0), Ope: z.literal(2), Type: z.literal(0), Body: z.string(), EventSeq: seq.min(1).optional(), Time: time.optional() }),
  frame(Cmd.Reconnect, 'Reconnect: this node closes the socket (1012) in Body milliseconds', { ...system, Body: z.string().regex(/^\d+$/) }),
  frame(Cmd.TypingNotice, 'Typing (feature "typing"): FromId is typing to you (Ope 0) or in group ToId (Ope 1); not stored', { FromId: id, ToId: id, Ope: ope, Type: z.literal(0), Body: z.literal('') }),
  frame(Cmd.MessageEdited, 'Message edited (feature "edit"): message Id now reads Body; an event of the conversation stream at Seq', { FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: z.string(), Id: id, ConvId: id, Seq: seq.min(1), Time: time }),
  frame(Cmd.ReactionChanged, 'Reaction (feature "reactions"): FromId put (On 1) or took off (On 0) emoji Body on message Id; an event of the conversation stream at Seq', { FromId: id, ToId: id, Ope: ope, Type: z.literal(0), Body: z.string().min(1), Id: id, ConvId: id, Seq: seq.min(1), Time: time, On: flag }),
  frame(Cmd.GroupEvent, 'Group event (feature "group-events"): FromId did Body to Target in group ToId (join: FromId approved Target, or Target joined an open group; leave: Target left); Value: admin 1/0, mute until (epoch ms, 0 lifted), mute_all 1/0, update the join mode (0 approval, 1 open, 2 invite), others 0', { FromId: z.number().int().min(0).describe('0: the operator (admin API)'), ToId: id, Ope: z.literal(1), Type: z.literal(0), Body: z.enum(groupEventKinds), ConvId: id, Seq: seq.min(1), Time: time, Target: z.number().int().min(0), Value: z.number().int().min(0) }),
] as const;

/** Any server frame (a union on Cmd). */
export const serverFrame = z.discriminatedUnion('Cmd', [...serverFrames]);
export type ServerFrame = z.infer<typeof serverFrame>;
/** The frame of one Cmd. */
export type FrameOf<C extends ServerFrame['Cmd']> = Extract<ServerFrame, { Cmd: C }>;
