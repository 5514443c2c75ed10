import { z } from 'zod';
import { AppError } from '../../errors.js';
import { CONTROL_BUT_TAB_AND_NEWLINES, idField, idListForms, LONE_SURROGATE, numeric } from '../../http/validate.js';
import { ConversationKind } from '../conversations/index.js';

/** Message types of weIm-go: 0 text, 1 picture, 2 voice, 3 video, 4 geo, 6 file, 10 prompt. */
export const MessageType = { Text: 0, Picture: 1, Voice: 2, Video: 3, Geo: 4, File: 6, Prompt: 10 } as const;
const types = new Set<number>(Object.values(MessageType));

const typeField = numeric(z.number({ error: 'must be a message type' }).int().refine((t) => types.has(t), 'must be 0, 1, 2, 3, 4, 6 or 10'));
const clientMsgIdField = z.string().min(1).max(64, 'must be at most 64 characters').optional();

/** Most users one message may mention by id. */
export const MAX_MENTIONS = 50;
const MENTIONS_RULE = `must be "all" or a list of 1 to ${MAX_MENTIONS} user ids`;
/**
 * Group sends: `all`, or user ids as a JSON array or, from a form, `12,34`. Each id must be a
 * member (checked by the service); `all` is for the owner and admins.
 */
const mentionsField = z
  .union([z.literal('all'), ...idListForms(MAX_MENTIONS)], { error: MENTIONS_RULE })
  .optional();

export const sendUserInput = z.object({ to_uid: idField, type: typeField, body: z.string({ error: 'is required' }), client_msg_id: clientMsgIdField, reply_to: idField.optional(), mentions: mentionsField });
export const sendGroupInput = z.object({ group_id: idField, type: typeField, body: z.string({ error: 'is required' }), client_msg_id: clientMsgIdField, reply_to: idField.optional(), mentions: mentionsField });
export const withdrawInput = z.object({ message_id: idField });
export const editInput = z.object({ message_id: idField, body: z.string({ error: 'is required' }) });

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const PICTOGRAPH = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
/** One emoji: a single grapheme (skin tones, ZWJ sequences and flags included) that is a pictograph, at most 64 bytes. */
const emojiField = z
  .string({ error: 'must be one emoji' })
  .refine((s) => Buffer.byteLength(s) <= 64 && PICTOGRAPH.test(s) && [...graphemes.segment(s)].length === 1, 'must be one emoji');
export const reactInput = z.object({
  message_id: idField,
  emoji: emojiField,
  on: numeric(z.union([z.literal(0), z.literal(1)], { error: 'must be 1 (put on) or 0 (take off)' })),
});

/**
 * The 403 of a sender who may not post to a conversation of `kind` (the frame's Ope): not a friend
 * of the recipient, or not a member of the group. The service's check and the writer's agree.
 */
export function notEntitled(kind: number): AppError {
  return new AppError(kind === ConversationKind.Group ? 'not_group_member' : 'friends_only');
}

/**
 * Checks a body against its type: text and prompts are 1..maxChars characters; geo is a JSON
 * object with longitude and latitude; pictures, voice, video and files carry a URL of at most 2048
 * characters, which `MediaBodies` then checks against the uploads (it needs the database).
 * Returns the reason it is refused, or undefined.
 */
export function bodyProblem(type: number, body: string, maxChars: number): AppError | undefined {
  if (!types.has(type)) return new AppError('message_type_invalid');
  if (LONE_SURROGATE.test(body)) return new AppError('body_lone_surrogate');
  switch (type) {
    case MessageType.Text:
    case MessageType.Prompt: {
      if (body.trim().length === 0) return new AppError('body_empty');
      if (CONTROL_BUT_TAB_AND_NEWLINES.test(body)) return new AppError('body_control_chars');
      let chars = 0;
      for (const _ of body) if (++chars > maxChars) return new AppError('body_too_long', { max: maxChars });
      return undefined;
    }
    case MessageType.Geo: {
      if (body.length > 1000) return new AppError('geo_body_too_long');
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch {
        return new AppError('geo_body_not_json');
      }
      const { longitude, latitude } = (value ?? {}) as { longitude?: unknown; latitude?: unknown };
      const ok = typeof longitude === 'number' && typeof latitude === 'number' && Math.abs(longitude) <= 180 && Math.abs(latitude) <= 90;
      return ok ? undefined : new AppError('geo_body_out_of_range');
    }
    default:
      return body.length <= 2048 ? undefined : new AppError('media_url_too_long');
  }
}
