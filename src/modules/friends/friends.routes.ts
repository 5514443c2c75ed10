import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import { friendDeleteInput, friendHandleInput, friendRequestInput } from './friends.schema.js';
import type { FriendsService } from './friends.service.js';

export function friendsRoutes(friends: FriendsService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const me = (req: unknown) => (req as AuthedRequest).auth.userId;
  router.post('/im/friend/add/request', auth, async (req, res) => {
    const input = parseInput(friendRequestInput, req.body);
    sendOk(res, await friends.request(me(req), { username: input.username, fUid: input.f_uid }, input.channel, input.reason));
  });
  router.post('/im/friend/add/reqs', auth, async (req, res) => {
    sendOk(res, { list: await friends.incoming(me(req)) });
  });
  router.post('/im/friend/add/handle', auth, async (req, res) => {
    const input = parseInput(friendHandleInput, req.body);
    await friends.handle(me(req), { requestId: input.request_id, fromUid: input.f_uid }, input.status === 1);
    sendOk(res, {});
  });
  router.post('/im/friend/list', auth, async (req, res) => {
    sendOk(res, { list: await friends.list(me(req)) });
  });
  router.post('/im/friend/del', auth, async (req, res) => {
    const input = parseInput(friendDeleteInput, req.body);
    await friends.remove(me(req), input.f_uid);
    sendOk(res, {});
  });
  return router;
}
