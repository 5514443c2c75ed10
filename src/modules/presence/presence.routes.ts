import { Router } from 'express';
import { z } from 'zod';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { idField, parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import type { PresenceService } from './presence.service.js';

/** `user_ids`: optional comma-separated list (or JSON array) narrowing the friends asked about. */
export const onlineInput = z.object({
  user_ids: z
    .union([z.string().regex(/^\d{1,16}(,\d{1,16}){0,999}$/, 'must be comma-separated ids'), z.array(idField).max(1000)])
    .transform((v) => (typeof v === 'string' ? v.split(',').map(Number) : v))
    .optional(),
});

export function presenceRoutes(presence: PresenceService, tokens: TokenService, router: Router = Router()): Router {
  router.post('/im/friend/online', requireAuth(tokens), async (req, res) => {
    const input = parseInput(onlineInput, req.body);
    sendOk(res, { list: await presence.onlineFriends((req as AuthedRequest).auth.userId, input.user_ids) });
  });
  return router;
}
