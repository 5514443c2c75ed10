import { type RequestHandler, Router } from 'express';
import { AppError } from '../../errors.js';
import { bodyReader } from '../../http/body-reader.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { PushRequest } from './push.auth.js';
import { pushSchemas } from './push.schema.js';
import type { PushService } from './push.service.js';

export interface PushRoutesOptions {
  /** The signature check (`requirePushApp`), which also counts the app's requests. */
  auth: RequestHandler;
  bodyLimitBytes: number;
  maxUsers: number;
  maxBodyChars: number;
}

/** The server push API for business backends, under /push: JSON bodies, signed by an app. */
export function pushRoutes(push: PushService, options: PushRoutesOptions): Router {
  const schemas = pushSchemas(options);
  const router = Router();
  router.use((req, _res, next) => {
    if (!/^application\/json\b/i.test(req.get('content-type') ?? '')) throw new AppError('push_json_required');
    next();
  });
  router.use(bodyReader({ limitBytes: options.bodyLimitBytes, parameterLimit: 100, keepRaw: true }));
  router.use(options.auth);
  router.post('/users', async (req, res) => {
    const input = parseInput(schemas.users, req.body);
    sendOk(res, await push.toUsers(input.user_ids, input.body, (req as PushRequest).pushOp));
  });
  router.post('/group', async (req, res) => {
    const input = parseInput(schemas.group, req.body);
    sendOk(res, await push.toGroup(input.group_id, input.body, (req as PushRequest).pushOp));
  });
  router.post('/broadcast', async (req, res) => {
    const input = parseInput(schemas.broadcast, req.body);
    await push.broadcast(input.body);
    sendOk(res, {});
  });
  router.post('/online', async (req, res) => {
    const input = parseInput(schemas.online, req.body);
    sendOk(res, { online: await push.online(input.user_ids) });
  });
  router.post('/logout', async (req, res) => {
    const input = parseInput(schemas.logout, req.body);
    await push.logout(input.user_id);
    sendOk(res, {});
  });
  // Its body is read: it must not fall through to the API's reader, which would wait for it.
  router.use(() => {
    throw new AppError('not_found');
  });
  return router;
}
