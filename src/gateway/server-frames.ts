import { z } from 'zod';

/**
 * The frames the server sends, as zod schemas: what docs/protocol.md describes, for the AsyncAPI
 * document (asyncapi.ts) and for the test that checks protocol.md's examples. Documentation, not
 * a runtime check: the server builds its frames in code.
 */
const id = z.number().int().positive();
const seq = z.number().int().min(0);
const time = z.number().int().positive().describe('epoch milliseconds');
const system = { FromId: z.literal(0), ToId: z.literal(0), Ope: z.literal(2), Type: z.literal(0) };
const ope = z.union([z.literal(0), z.literal(1)]).describe('0 friend, 1 group');
const frame = <C extends number, S extends z.ZodRawShape>(cmd: C, title: string, shape: S) => z.object({ Cmd: z.literal(cmd), ...shape }).strict().describe(title);

const conversationItem = (cmd: number, title: string, body: z.ZodType) =>
  frame(cmd, title, {
    FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: body, Id: id, ConvId: id, Seq: seq.min(1), Time: time,
    Withdrawn: z.boolean().optional(), ClientMsgId: z.string().max(64).optional().describe('in a sync, on the user\'s own messages'),
    ReplyTo: id.optional().describe('the message of this conversation it answers'),
    Mentions: z.union([z.literal('all'), z.array(id)]).optional().describe('group messages: the members it mentions, or all'),
  });
const eventItem = (cmd: number, title: string) =>
  frame(cmd, title, { FromId: z.number().int().min(0), ToId: id, Ope: z.number().int(), Type: z.number().int(), Body: z.string(), Id: id.optional(), EventSeq: seq.min(1), Time: time });

export const serverFrames = [
  frame(2, 'Refused: Body says why; ClientMsgId of the refused send; Code the envelope code (1005 rate limited, 1503 retry)', { ...system, Body: z.string(), ClientMsgId: z.string().optional(), Code: z.number().int().optional() }),
  frame(4, 'Signed in: Body is the user id; Features: the declared features accepted (only when the sign-in declared some)', { ...system, Body: z.string().regex(/^\d+$/), Features: z.array(z.string()).optional() }),
  conversationItem(6, 'Friend message', z.string()),
  conversationItem(7, 'Friend message withdrawn: Body is its id', z.string().regex(/^\d+$/)),
  eventItem(8, 'Friend request'),
  eventItem(9, 'Friend request accepted'),
  conversationItem(10, 'Group message', z.string()),
  conversationItem(11, 'Group message withdrawn: Body is its id', z.string().regex(/^\d+$/)),
  eventItem(12, 'Group join request'),
  eventItem(13, 'Group join accepted'),
  eventItem(14, 'Removed from a group'),
  frame(16, 'Pong', { ...system, Body: z.literal('') }),
  frame(18, 'Send stored (ack)', { FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: z.literal(''), Id: id, ConvId: id, Seq: seq.min(1), Time: time, ClientMsgId: z.string().max(64).optional() }),
  frame(19, 'Presence of a friend', { FromId: id, ToId: z.number().int().min(0), Ope: z.number().int(), Type: z.number().int(), Body: z.enum(['online', 'offline']) }),
  frame(21, 'Read notice: FromId read ConvId up to Seq', { FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: z.string(), ConvId: id, Seq: seq }),
  frame(23, 'Sync done: Body is the token of the new cursors; More: another page to ask for', { ...system, Body: z.string(), More: z.boolean() }),
  frame(24, 'Sync needed: pushes may have been lost, sync from your cursors', { ...system, Body: z.string() }),
  frame(25, 'Server push from a business backend', { FromId: z.literal(0), ToId: z.number().int().min(0), Ope: z.literal(2), Type: z.literal(0), Body: z.string(), EventSeq: seq.min(1).optional(), Time: time.optional() }),
  frame(26, 'Reconnect: this node closes the socket (1012) in Body milliseconds', { ...system, Body: z.string().regex(/^\d+$/) }),
  frame(28, 'Typing (feature "typing"): FromId is typing to you (Ope 0) or in group ToId (Ope 1); not stored', { FromId: id, ToId: id, Ope: ope, Type: z.literal(0), Body: z.literal('') }),
  frame(29, 'Message edited (feature "edit"): message Id now reads Body; an event of the conversation stream at Seq', { FromId: id, ToId: id, Ope: ope, Type: z.number().int(), Body: z.string(), Id: id, ConvId: id, Seq: seq.min(1), Time: time }),
  frame(30, 'Reaction (feature "reactions"): FromId put (On 1) or took off (On 0) emoji Body on message Id; an event of the conversation stream at Seq', { FromId: id, ToId: id, Ope: ope, Type: z.literal(0), Body: z.string().min(1), Id: id, ConvId: id, Seq: seq.min(1), Time: time, On: z.union([z.literal(0), z.literal(1)]) }),
  frame(31, 'Group event (feature "group-events"): FromId (owner or admin) did Body to Target in group ToId; Value: admin 1/0, mute until (epoch ms, 0 lifted), mute_all 1/0, transfer 0', { FromId: id, ToId: id, Ope: z.literal(1), Type: z.literal(0), Body: z.enum(['admin', 'mute', 'mute_all', 'transfer', 'update', 'dissolve']), ConvId: id, Seq: seq.min(1), Time: time, Target: z.number().int().min(0), Value: z.number().int().min(0) }),
] as const;

/** Any server frame (a union on Cmd). */
export const serverFrame = z.discriminatedUnion('Cmd', [...serverFrames]);
