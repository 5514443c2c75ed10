import { z } from 'zod';
import { idField, textField } from '../../http/validate.js';

export const userInfoInput = z.object({ user_id: idField.optional() });

export const nicknameInput = z.object({ nickname: textField(1, 20) });

export const realNameInput = z.object({
  // 2–20 characters of CJK ideographs, optionally with the middle dot of minority names.
  real_name: z
    .string({ error: 'is required' })
    .trim()
    .regex(/^[\p{Script=Han}·•]{2,20}$/u, 'must be 2–20 Chinese characters'),
  id_card: z.string({ error: 'is required' }).trim().max(18, 'must be 18 characters'),
});
