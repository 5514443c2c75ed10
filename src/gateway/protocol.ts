import { z } from 'zod';
import { AppError } from '../errors.js';
import { issueDetail } from '../issue-text.js';
import { cursorRecord, heldRecord } from '../modules/sync/cursors.js';
import { Cmd } from '../notify/cmd.js';

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
  /** Seqs held above the cursors (with either form): not sent again. */
  Held: heldRecord.optional(),
};
export type SyncSpec = { Token?: string; Cursors?: Record<string, number>; EventSeq?: number; Held?: Record<string, number[]> };

/** Feature names a client understands (features.ts); unknown ones are ignored, malformed ones refused. */
const features = z.array(z.string().min(1).max(32).regex(/^[a-z][a-z0-9_-]*$/, 'a feature name is lower-case letters, digits, _ and -')).max(16);
/** Lang: the language of the socket's Cmd 2 texts, as an Accept-Language value (`en`, `zh-CN`). */
const signFrame = z.object({ Cmd: z.literal(Cmd.Sign), Body: z.string().min(1).max(4096), Sync: z.object(syncSpec).optional(), Features: features.optional(), Lang: z.string().min(1).max(64).optional() });
const syncFrame = z.object({ Cmd: z.literal(Cmd.Sync), ...syncSpec });
const readFrame = z.object({ Cmd: z.literal(Cmd.Read), ConvId: id, Seq: seq });
const pingFrame = z.object({ Cmd: z.literal(Cmd.Ping) });
const sendFrame = z.object({
  Cmd: z.literal(Cmd.Send),
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

const typingFrame = z.object({ Cmd: z.literal(Cmd.Typing), ToId: id, Ope: z.union([z.literal(0), z.literal(1)]) });

/** Every frame a client may send, discriminated on `Cmd`. */
export const clientFrame = z.discriminatedUnion('Cmd', [signFrame, pingFrame, sendFrame, readFrame, syncFrame, typingFrame]);
const clientCmds: readonly number[] = clientFrame.options.map((o) => o.shape.Cmd.value);
export type ClientFrame = z.infer<typeof clientFrame>;
export type ClientCmd = ClientFrame['Cmd'];

/** Parses one text frame; returns the error on failure (for the Cmd 2 reply). */
export function parseClientFrame(text: string): { ok: true; frame: ClientFrame } | { ok: false; error: AppError; clientMsgId?: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: new AppError('frame_not_json') };
  }
  const result = clientFrame.safeParse(raw, { reportInput: true });
  if (result.success) return { ok: true, frame: result.data };
  const clientMsgId = typeof (raw as { ClientMsgId?: unknown })?.ClientMsgId === 'string' ? (raw as { ClientMsgId: string }).ClientMsgId.slice(0, 64) : undefined;
  const cmd = (raw as { Cmd?: unknown } | null)?.Cmd;
  if (typeof cmd !== 'number' || !clientCmds.includes(cmd)) {
    return { ok: false, error: new AppError('unknown_command', { cmd: JSON.stringify(cmd ?? null).slice(0, 20) }), clientMsgId };
  }
  const issue = result.error.issues[0]!;
  return { ok: false, error: new AppError('invalid_frame', { field: issue.path.join('.') || 'frame', detail: issueDetail(issue) }), clientMsgId };
}
