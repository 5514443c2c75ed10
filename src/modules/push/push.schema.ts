import { z } from 'zod';
import { idField } from '../../http/validate.js';

/** Any text but control characters other than tab and newlines, 1 to `max` characters (code points). */
function pushBody(max: number) {
  return z
    .string({ error: 'is required' })
    .refine((s) => !/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/.test(s), 'must not contain control characters other than tab and newlines')
    .refine((s) => s.length > 0 && [...s].length <= max, `must have 1 to ${max} characters`);
}

export function pushSchemas(limits: { maxUsers: number; maxBodyChars: number }) {
  const userIds = z.array(idField, { error: 'must be an array of user ids' }).min(1, 'must name at least one user').max(limits.maxUsers, `must name at most ${limits.maxUsers} users`);
  return {
    users: z.object({ user_ids: userIds, body: pushBody(limits.maxBodyChars) }),
    broadcast: z.object({ body: pushBody(limits.maxBodyChars) }),
    online: z.object({ user_ids: userIds }),
    logout: z.object({ user_id: idField }),
    group: z.object({ group_id: idField, body: pushBody(limits.maxBodyChars) }),
  };
}
