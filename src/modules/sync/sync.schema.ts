import { z } from 'zod';
import { idField, numeric } from '../../http/validate.js';
import { cursorRecord } from './cursors.js';

const seqField = numeric(z.number({ error: 'must be a seq' }).int().min(0).max(Number.MAX_SAFE_INTEGER));

/** One of to_uid, group_id or conversation_id names the conversation. */
const target = {
  to_uid: idField.optional(),
  group_id: idField.optional(),
  conversation_id: idField.optional(),
};
const oneTarget = (v: { to_uid?: number; group_id?: number; conversation_id?: number }) =>
  [v.to_uid, v.group_id, v.conversation_id].filter((x) => x !== undefined).length === 1;

export const historyInput = z
  .object({ ...target, before_seq: seqField.optional(), limit: numeric(z.number({ error: 'must be 1 to 100' }).int().min(1).max(100)).optional().default(30) })
  .refine(oneTarget, { message: 'exactly one of to_uid, group_id, conversation_id is required', path: ['to_uid'] });

export const receiptsInput = z.object({ message_id: idField });

export const readInput = z
  .object({ ...target, seq: seqField })
  .refine(oneTarget, { message: 'exactly one of to_uid, group_id, conversation_id is required', path: ['to_uid'] });

/** `cursors` may come as a JSON string (form posts) or an object (JSON posts). */
export const syncInput = z.object({
  token: z.string().max(1_000_000).optional(),
  cursors: z
    // An object is passed on as it is (a z.record here would drop a `__proto__` key unseen).
    .union([z.string().max(1_000_000), z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v))])
    .transform((v, ctx) => {
      try {
        return cursorRecord.parse(typeof v === 'string' ? JSON.parse(v) : v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be {"<conversation id>": seq, ...}' });
        return z.NEVER;
      }
    })
    .optional(),
  event_seq: seqField.optional(),
  limit: numeric(z.number({ error: 'must be 1 to 5000' }).int().min(1).max(5000)).optional(),
});

export function targetOf(v: { to_uid?: number; group_id?: number; conversation_id?: number }) {
  if (v.to_uid !== undefined) return { toUid: v.to_uid };
  if (v.group_id !== undefined) return { groupId: v.group_id };
  return { conversationId: v.conversation_id! };
}
