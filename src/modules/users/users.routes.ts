import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/tokens.js';
import { nicknameInput, realNameInput, userInfoInput } from './users.schema.js';
import type { UsersService } from './users.service.js';

export function usersRoutes(users: UsersService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  router.post('/user/info', auth, async (req, res) => {
    const input = parseInput(userInfoInput, req.body);
    sendOk(res, await users.info((req as AuthedRequest).auth.userId, input.user_id));
  });
  router.post('/user/update/nickname', auth, async (req, res) => {
    const input = parseInput(nicknameInput, req.body);
    sendOk(res, { user: await users.updateNickname((req as AuthedRequest).auth.userId, input.nickname) });
  });
  router.post('/user/update/realname', auth, async (req, res) => {
    const input = parseInput(realNameInput, req.body);
    sendOk(res, { user: await users.updateRealName((req as AuthedRequest).auth.userId, input.real_name, input.id_card) });
  });
  return router;
}
