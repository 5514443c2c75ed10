import { z } from 'zod';

export const usernameField = z
  .string({ error: 'is required' })
  .trim()
  .regex(/^[A-Za-z0-9_]{6,20}$/, 'must be 6–20 letters, digits or _')
  .transform((s) => s.toLowerCase());

export const passwordField = z
  .string({ error: 'is required' })
  .min(6, 'must be at least 6 characters')
  .max(64, 'must be at most 64 characters')
  // bcrypt reads at most 72 bytes; 64 characters of 4-byte UTF-8 would pass that silently.
  .refine((s) => Buffer.byteLength(s, 'utf8') <= 72, 'must be at most 72 bytes in UTF-8');

export const credentialsInput = z.object({ username: usernameField, password: passwordField });
/** Login accepts any string so a wrong-format username is just "wrong username or password". */
export const loginInput = z.object({
  username: z.string({ error: 'is required' }).trim().min(1, 'is required').max(64).transform((s) => s.toLowerCase()),
  password: z.string({ error: 'is required' }).min(1, 'is required').max(128),
});
