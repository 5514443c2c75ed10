import { z } from 'zod';
import { cursorRecord } from '../modules/sync/cursors.js';
import { Cmd } from '../notify/notifier.js';

/** Commands weim adds to weIm-go's (documented in docs/protocol.md). */
export const WeimCmd = {
  /** client → server: application-level ping (browsers cannot send WebSocket pings). */
  Ping: 15,
  /** server → client: answer to Ping. */
  Pong: 16,
  /** client → server: send a message over the socket. */
  Send: 17,
  /** server → client: the message of a Send was stored; carries Id, Seq, Time, ClientMsgId. */
  SendAck: 18,
  /** client → server: mark a conversation read up to `Seq` (`ConvId`). */
  Read: 20,
  /** client → server: send me what I missed since these cursors (`Token` or `Cursors` + `EventSeq`). */
  Sync: 22,
  /** server → client: the sync is complete; Body = token of the cursors after it. */
  SyncDone: 23,
  /** server → client: pushes to this socket may have been lost (the node's bus link dropped); sync now. */
  SyncNeeded: 24,
  /**
   * server → client: this node is shutting down and closes the socket (1012) in `Body` ms; reconnect
   * (through the load balancer: another node) then, or sooner, and sign in with Sync as usual.
   */
  Reconnect: 26,
  /** client → server: I am typing to `ToId` (a friend, Ope 0, or a group, Ope 1). Not stored. */
  Typing: 27,
  /** server → client, to sockets that declared `typing`: `FromId` is typing to you or in group `ToId`. */
  TypingNotice: Cmd.TypingNotice,
} as const;

/** Close codes weim uses (4000–4999 are the application's). */
export const CloseCode = {
  GoingAway: 1001,
  /** A server error cut a sign-in or sync short: reconnect and sign in again. */
  InternalError: 1011,
  /** The node is restarting (after Cmd 26): reconnect, and sign in with Sync. */
  ServiceRestart: 1012,
  /** The database was out of reach during a sign-in or sync: reconnect and sign in again. */
  TryAgainLater: 1013,
  SignInTimeout: 4001,
  SignInFailed: 4002,
  SessionEnded: 4003,
  SlowConsumer: 4008,
  TooManyBadFrames: 4009,
  /** The user already holds `gateway.max_sockets_per_user` sockets across the cluster. */
  TooManySockets: 4010,
} as const;

const id = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** Where a client is: the token of a previous SyncDone, or cursors per conversation plus its event seq. */
const syncSpec = {
  Token: z.string().max(1_000_000).optional(),
  Cursors: cursorRecord.optional(),
  EventSeq: seq.optional(),
};
export type SyncSpec = { Token?: string; Cursors?: Record<string, number>; EventSeq?: number };

/** Feature names a client understands (features.ts); unknown ones are ignored, malformed ones refused. */
const features = z.array(z.string().min(1).max(32).regex(/^[a-z][a-z0-9_-]*$/, 'a feature name is lower-case letters, digits, _ and -')).max(16);
const signFrame = z.object({ Cmd: z.literal(Cmd.Sign), Body: z.string().min(1).max(4096), Sync: z.object(syncSpec).optional(), Features: features.optional() });
const syncFrame = z.object({ Cmd: z.literal(WeimCmd.Sync), ...syncSpec });
const readFrame = z.object({ Cmd: z.literal(WeimCmd.Read), ConvId: id, Seq: seq });
const pingFrame = z.object({ Cmd: z.literal(WeimCmd.Ping) });
const sendFrame = z.object({
  Cmd: z.literal(WeimCmd.Send),
  ToId: id,
  Ope: z.union([z.literal(0), z.literal(1)]),
  Type: z.number().int(),
  Body: z.string(),
  ClientMsgId: z.string().min(1).max(64).optional(),
  /** The message of the same conversation this one answers. */
  ReplyTo: id.optional(),
  /** Group messages: members mentioned (1–50 ids), or `all` (owner and admins). */
  Mentions: z.union([z.literal('all'), z.array(id).min(1).max(50)]).optional(),
});

const typingFrame = z.object({ Cmd: z.literal(WeimCmd.Typing), ToId: id, Ope: z.union([z.literal(0), z.literal(1)]) });

/** Every frame a client may send, discriminated on `Cmd`. */
export const clientFrame = z.discriminatedUnion('Cmd', [signFrame, pingFrame, sendFrame, readFrame, syncFrame, typingFrame]);
const clientCmds: readonly number[] = clientFrame.options.map((o) => o.shape.Cmd.value);
export type ClientFrame = z.infer<typeof clientFrame>;
export type ClientCmd = ClientFrame['Cmd'];

/** Parses one text frame; returns the reason on failure (for the Cmd 2 reply). */
export function parseClientFrame(text: string): { ok: true; frame: ClientFrame } | { ok: false; reason: string; clientMsgId?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'malformed frame: not JSON' };
  }
  const result = clientFrame.safeParse(raw);
  if (result.success) return { ok: true, frame: result.data };
  const clientMsgId = typeof (raw as { ClientMsgId?: unknown })?.ClientMsgId === 'string' ? (raw as { ClientMsgId: string }).ClientMsgId.slice(0, 64) : undefined;
  const cmd = (raw as { Cmd?: unknown } | null)?.Cmd;
  if (typeof cmd !== 'number' || !clientCmds.includes(cmd)) {
    return { ok: false, reason: `unknown command ${JSON.stringify(cmd ?? null).slice(0, 20)}`, clientMsgId };
  }
  const issue = result.error.issues[0]!;
  return { ok: false, reason: `invalid frame: ${issue.path.join('.') || 'frame'}: ${issue.message}`, clientMsgId };
}

/** A Cmd 2 frame; `code` is the error's envelope code (docs/api.md), e.g. 1503: retry. */
export function failFrame(reason: string, clientMsgId?: string, code?: number): string {
  return JSON.stringify({ Cmd: Cmd.Fail, FromId: 0, ToId: 0, Ope: 2, Type: 0, Body: reason, ...(clientMsgId ? { ClientMsgId: clientMsgId } : {}), ...(code ? { Code: code } : {}) });
}

export function systemFrame(cmd: number, body: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ Cmd: cmd, FromId: 0, ToId: 0, Ope: 2, Type: 0, Body: body, ...extra });
}
