import { z } from 'zod';
import { idField, numeric, textField } from '../../http/validate.js';

export const friendRequestInput = z
  .object({
    username: z.string().trim().min(1).max(20).transform((s) => s.toLowerCase()).optional(),
    f_uid: idField.optional(),
    channel: textField(0, 32).optional().default(''),
    reason: textField(0, 100).optional().default(''),
  })
  .refine((v) => v.username !== undefined || v.f_uid !== undefined, { message: 'username or f_uid is required', path: ['f_uid'] });

/** status: 1 accept, -1 reject (weIm-go); 0 and 2 are also read as reject. */
export const friendHandleInput = z
  .object({
    f_uid: idField.optional(),
    request_id: idField.optional(),
    status: numeric(z.number({ error: 'must be 1 (accept) or -1 (reject)' }).int().refine((s) => [1, 0, -1, 2].includes(s), 'must be 1 (accept) or -1 (reject)')),
  })
  .refine((v) => v.f_uid !== undefined || v.request_id !== undefined, { message: 'f_uid or request_id is required', path: ['f_uid'] });

export const friendDeleteInput = z.object({ f_uid: idField });
