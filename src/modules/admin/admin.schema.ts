import { z } from 'zod';
import { idField, textField } from '../../http/validate.js';

export const banInput = z.object({ user_id: idField, reason: textField(1, 200) });
export const userIdInput = z.object({ user_id: idField });
export const lookupInput = z
  .object({ user_id: idField.optional(), username: z.string().min(1).max(64).optional() })
  .refine((v) => (v.user_id === undefined) !== (v.username === undefined), { message: 'give user_id or username', path: ['user_id'] });
export const groupInput = z.object({ group_id: idField, reason: textField(0, 200).optional().default('') });
export const messageInput = z.object({ message_id: idField, reason: textField(0, 200).optional().default('') });
