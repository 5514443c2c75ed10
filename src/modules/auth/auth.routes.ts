import { Router } from 'express';
import { sendOk } from '../../http/envelope.js';
import { requireAuth, type AuthedRequest } from '../../http/auth.middleware.js';
import { parseInput } from '../../http/validate.js';
import type { AuthService } from './auth.service.js';
import { credentialsInput, loginInput } from './auth.schema.js';
import type { TokenService } from './tokens.js';

export function authRoutes(auth: AuthService, tokens: TokenService, router: Router = Router()): Router {
  router.post('/register', async (req, res) => {
    const input = parseInput(credentialsInput, req.body);
    sendOk(res, await auth.register(input.username, input.password, req.ip ?? 'unknown'));
  });
  router.post('/login', async (req, res) => {
    const input = parseInput(loginInput, req.body);
    sendOk(res, await auth.login(input.username, input.password, req.ip ?? 'unknown'));
  });
  router.post('/logout', requireAuth(tokens, { refresh: false }), async (req, res) => {
    await auth.logout((req as AuthedRequest).auth);
    sendOk(res, {});
  });
  router.post('/logout/all', requireAuth(tokens, { refresh: false }), async (req, res) => {
    await auth.logoutEverywhere((req as AuthedRequest).auth.userId);
    sendOk(res, {});
  });
  return router;
}
