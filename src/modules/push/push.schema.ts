import { z } from 'zod';
import { CONTROL_BUT_TAB_AND_NEWLINES, idField } from '../../http/validate.js';

/** Any text but control characters other than tab and newlines, 1 to `max` characters (code points). */
function pushBody(max: number) {
  return z
    .string({ error: 'is required' })
    .refine((s) => !CONTROL_BUT_TAB_AND_NEWLINES.test(s), 'must not contain control characters other than tab and newlines')
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
