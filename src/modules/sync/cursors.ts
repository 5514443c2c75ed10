import { z } from 'zod';
import { AppError } from '../../errors.js';

/** How far a client has got: a seq per conversation, and its event-stream seq. */
export interface Cursors {
  conversations: Map<number, number>;
  events: number;
}

const seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/**
 * `{"<conversation id>": value}`. z.record skips a `__proto__` key without a word (JSON.parse makes
 * it an own key), which read `{"__proto__": 1}` as no cursors at all (a sync from the start): such
 * a key is refused before.
 */
function byConversation<T extends z.ZodType>(value: T) {
  return z
    .custom<unknown>((v) => !(typeof v === 'object' && v !== null && Object.hasOwn(v, '__proto__')), 'keys must be conversation ids')
    .pipe(z.record(z.string().regex(/^\d{1,16}$/, 'keys must be conversation ids'), value));
}

/** `{"<conversation id>": seq}`. */
export const cursorRecord = byConversation(seq);

/** At most this many seqs in `Held`, over every conversation. */
export const MAX_HELD = 1000;

/**
 * `{"<conversation id>": [seq, …]}`: the seqs a client holds above its cursor in a conversation
 * (the answers to its own sends, frames that came past a gap). A sync does not send them again.
 */
export const heldRecord = byConversation(z.array(seq.min(1)).max(MAX_HELD))
  .refine((held) => Object.values(held).reduce((n, seqs) => n + seqs.length, 0) <= MAX_HELD, `at most ${MAX_HELD} held seqs in all`);

/** The `c<conversation>:<seq>` keys of `Held`, as the sync runner skips them. */
export function heldKeys(held: Record<string, number[]> | undefined): ReadonlySet<string> {
  const keys = new Set<string>();
  for (const [id, seqs] of Object.entries(held ?? {})) for (const s of seqs) keys.add(`c${Number(id)}:${s}`);
  return keys;
}

const tokenShape = z.object({ c: cursorRecord, e: seq }).strict();
/** At most this many conversations in one set of cursors. */
const MAX_CONVERSATIONS = 20_000;

/** The compact token a sync hands back: base64url of `{"c": {convId: seq}, "e": eventSeq}`. */
export function encodeCursors(cursors: Cursors): string {
  const c: Record<string, number> = {};
  for (const [id, s] of cursors.conversations) c[String(id)] = s;
  return Buffer.from(JSON.stringify({ c, e: cursors.events })).toString('base64url');
}

export function decodeCursors(token: string): Cursors {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('sync_token_malformed');
  }
  const parsed = tokenShape.safeParse(raw);
  if (!parsed.success) throw new AppError('sync_token_malformed');
  return fromRecord(parsed.data.c, parsed.data.e);
}

/** Cursors given explicitly: `{convId: seq}` plus the event seq. */
export function fromRecord(conversations: Record<string, number>, events: number): Cursors {
  const entries = Object.entries(conversations);
  if (entries.length > MAX_CONVERSATIONS) throw new AppError('too_many_cursors', { max: MAX_CONVERSATIONS });
  return { conversations: new Map(entries.map(([id, s]) => [Number(id), s])), events };
}
