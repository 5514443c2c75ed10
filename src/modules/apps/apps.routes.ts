import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { bodyReader } from '../../http/body-reader.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { PushRequest } from '../push/push.auth.js';
import { groupName, text } from './app-calls.js';
import type { AppsService } from './apps.service.js';

const clientId = z.string().min(1).max(200);
const userId = z.string().min(1).max(128);
const message = {
  send_user_id: text.optional().default(''),
  code: z.number().int().optional().default(0),
  msg: text.optional().default(''),
  data: z.unknown().optional().transform((d) => (d === undefined ? '' : typeof d === 'string' ? d : JSON.stringify(d))),
};

/** The signed app API's inputs (also the OpenAPI document's). */
export const appSchemas = {
  send: z
    .object({ client_ids: z.array(clientId).min(1).max(1000).optional(), user_id: userId.optional(), channel: groupName.optional(), all: z.literal(true).optional(), ...message })
    .refine((b) => [b.client_ids, b.user_id, b.channel, b.all].filter((x) => x !== undefined).length === 1, { message: 'name exactly one of client_ids, user_id, channel, all', path: ['client_ids'] }),
  bind: z.object({ client_id: clientId, user_id: z.union([userId, z.literal('')]) }),
  /** `presence: false`: no 1001 / 1002 to the channel's members (a join is O(members) frames with them, O(members²) to fill a channel). */
  channel: z.object({ client_id: clientId, channel: groupName, presence: z.boolean().optional().default(true) }),
  online: z
    .object({ client_id: clientId.optional(), user_id: userId.optional(), channel: groupName.optional(), page: z.number().int().min(1).max(100_000).optional().default(1), page_size: z.number().int().min(1).max(1000).optional().default(100) })
    .refine((b) => [b.client_id, b.user_id, b.channel].filter((x) => x !== undefined).length === 1, { message: 'name one of client_id, user_id, channel', path: ['client_id'] }),
  close: z.object({ client_id: clientId }),
  setInfo: z.object({
    client_id: clientId,
    info: z.record(z.string().min(1).max(64), z.string().max(1000)).refine((m) => Object.keys(m).length <= 50, 'must have at most 50 keys'),
  }),
  kick: z.object({ user_id: userId }),
};

/**
 * weim's own API for an app's backend (docs/gateway.md#weims-app-api), on the API router before
 * its body reader: each route reads its body with the raw text, then `auth` (the push API's
 * signature check with the apps' secrets: X-Weim-App is the app's key; timestamp, single-use
 * nonce, Idempotency-Key). Answers weim's envelope.
 */
export function addAppApiRoutes(api: Router, service: AppsService, auth: RequestHandler, options: { bodyLimitBytes: number; maxMessageBytes: number }): void {
  const reader = bodyReader({ limitBytes: options.bodyLimitBytes, parameterLimit: 100, keepRaw: true });
  const json: RequestHandler = (req, _res, next) => {
    if (!/^application\/json\b/i.test(req.get('content-type') ?? '')) throw new AppError('push_json_required');
    next();
  };
  const post = (path: string, handler: RequestHandler) => api.post(`/apps/${path}`, json, reader, auth, handler);
  const appOf = (req: Parameters<RequestHandler>[0]) => (req as PushRequest).pushApp;

  post('send', async (req, res) => {
    const input = parseInput(appSchemas.send, req.body);
    if (Buffer.byteLength(input.data) > options.maxMessageBytes) throw new AppError('payload_too_large');
    const m = { sendUserId: input.send_user_id, code: input.code, msg: input.msg, data: input.data };
    const app = appOf(req);
    if (input.client_ids) return sendOk(res, { message_id: await service.sendToClients(app, input.client_ids, m) });
    if (input.channel !== undefined) return sendOk(res, { message_id: await service.sendToGroup(app, input.channel, m) });
    if (input.user_id !== undefined) return sendOk(res, { message_ids: await service.sendToUser(app, input.user_id, m) });
    sendOk(res, { message_id: await service.sendToApp(app, m) });
  });
  post('bind', async (req, res) => {
    const input = parseInput(appSchemas.bind, req.body);
    if (!(await service.bindUser(appOf(req), input.client_id, input.user_id))) throw new AppError('app_client_not_found');
    sendOk(res, {});
  });
  post('join', async (req, res) => {
    const input = parseInput(appSchemas.channel, req.body);
    if (!(await service.bind(appOf(req), input.client_id, input.channel, '', '', !input.presence))) throw new AppError('app_client_not_found');
    sendOk(res, {});
  });
  post('leave', async (req, res) => {
    const input = parseInput(appSchemas.channel, req.body);
    if (!(await service.leave(appOf(req), input.client_id, input.channel, !input.presence))) throw new AppError('app_client_not_found');
    sendOk(res, {});
  });
  post('online', async (req, res) => {
    const input = parseInput(appSchemas.online, req.body);
    const app = appOf(req);
    if (input.client_id !== undefined) return sendOk(res, { online: await service.isOnline(app, input.client_id) });
    const all = input.user_id !== undefined ? await service.connectionsOf(app, input.user_id) : await service.online(app, input.channel!);
    all.sort();
    const from = (input.page - 1) * input.page_size;
    const page = { count: all.length, online: all.length > 0, client_ids: all.slice(from, from + input.page_size), page: input.page, page_size: input.page_size };
    if (input.channel === undefined) return sendOk(res, page);
    // A channel's users: distinct, over all its connections (the page is of connections).
    const users = await service.usersOf(app, all);
    sendOk(res, { ...page, user_count: users.length, user_ids: users.slice(from, from + input.page_size) });
  });
  post('close', async (req, res) => {
    const input = parseInput(appSchemas.close, req.body);
    if (!(await service.close(appOf(req), input.client_id))) throw new AppError('app_client_not_found');
    sendOk(res, {});
  });
  post('info', async (req, res) => {
    const input = parseInput(appSchemas.close, req.body);
    const info = await service.info(appOf(req), input.client_id);
    if (!info) throw new AppError('app_client_not_found');
    sendOk(res, { info });
  });
  for (const [path, merge] of [['info/set', false], ['info/merge', true]] as const) {
    post(path, async (req, res) => {
      const input = parseInput(appSchemas.setInfo, req.body);
      if (!(await service.setInfo(appOf(req), input.client_id, input.info, merge))) throw new AppError('app_client_not_found');
      sendOk(res, {});
    });
  }
  post('kick', async (req, res) => {
    const input = parseInput(appSchemas.kick, req.body);
    sendOk(res, { closed: await service.kickUser(appOf(req), input.user_id) });
  });
}
