import { Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/index.js';
import { deviceInput, previewsInput } from './devices.schema.js';
import type { DevicesService } from './devices.service.js';

export function devicesRoutes(devices: DevicesService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const me = (req: unknown) => (req as AuthedRequest).auth.userId;
  router.post('/user/device/register', auth, async (req, res) => {
    const input = parseInput(deviceInput, req.body);
    await devices.register(me(req), input.platform, input.token);
    sendOk(res, {});
  });
  router.post('/user/device/unregister', auth, async (req, res) => {
    const input = parseInput(deviceInput, req.body);
    await devices.unregister(me(req), input.platform, input.token);
    sendOk(res, {});
  });
  router.post('/user/device/previews', auth, async (req, res) => {
    await devices.setPreviews(me(req), parseInput(previewsInput, req.body).previews === 1);
    sendOk(res, {});
  });
  return router;
}
