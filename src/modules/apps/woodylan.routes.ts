import { type Response, Router } from 'express';
import { z } from 'zod';
import { bodyReader } from '../../http/body-reader.js';
import { type AppRoutesOptions, appRoutes, bodyString, type Flavour, groupName, messageFields as message, text } from './app-calls.js';
import type { App } from './apps.registry.js';
import { addOkamiRoutes } from './okami.routes.js';

/** woodylan's envelope, HTTP 200 both ways: code 0 and `success`, or code -1 and the reason. */
function answer(res: Response, data: unknown): void {
  res.json({ code: 0, msg: 'success', data });
}

function refuse(res: Response, msg: string, status = 200): void {
  res.status(status).json({ code: -1, msg, data: [] });
}

/**
 * goravel-socket's answers to the same calls (an app with `api: goravel-socket`): goravel maps,
 * keys sorted, no `code`; its data shape and text per route.
 */
const GORAVEL_SOCKET = {
  '/register': () => ({ data: [], msg: 'success' }),
  '/send_to_client': (d: unknown) => ({ data: [d], msg: 'success' }),
  '/send_to_clients': () => ({ data: '', msg: 'success' }),
  '/send_to_group': (d: unknown) => ({ data: d, msg: '发送成功' }),
  '/bind_to_group': () => ({ data: 'success', msg: '发送成功' }),
  '/get_online_list': (d: unknown) => ({ data: d, msg: '发送成功' }),
  '/close_client': () => ({ data: 'success', msg: '退出成功' }),
  '/get_all_groups': (d: unknown) => ({ data: d, msg: 'success' }),
} satisfies Record<string, (data: unknown) => { data: unknown; msg: string }>;

const schemas = {
  register: z.object({ systemId: z.string().min(1).max(64) }),
  sendToClient: z.object({ clientId: z.string().min(1).max(200), ...message }),
  sendToClients: z.object({ clientIds: z.array(z.string().max(200)).max(1000), ...message }),
  sendToGroup: z.object({ groupName, ...message }),
  bindToGroup: z.object({ clientId: z.string().min(1).max(200), groupName, userId: text.optional().default(''), extend: text.optional().default('') }),
  onlineList: z.object({ groupName }),
  closeClient: z.object({ clientId: z.string().min(1).max(200) }),
  /** goravel-socket required a clientId it never used: anything is taken. */
  allGroups: z.object({}),
};

/** get_all_groups answers at most this many groups. */
const MAX_GROUPS_LISTED = 1000;

/** woodylan's validator text for a missing or bad field (its zh translation, with the Go field name). */
function fieldProblem(error: z.ZodError): string {
  const field = String(error.issues[0]?.path[0] ?? 'body');
  return `${field.charAt(0).toUpperCase()}${field.slice(1)}为必填字段`;
}

/**
 * woodylan/go-websocket's HTTP API (and goravel-socket's, which is the same under `/api`):
 * `POST /api/{register, send_to_client, send_to_clients, send_to_group, bind_to_group,
 * get_online_list, close_client}` with the `SystemId` header, its JSON bodies and its envelope
 * (docs/gateway.md lists every difference). woodylan trusted anyone who knew a systemId; here a
 * call is let in when it is signed with the app's secret (X-Weim-Timestamp, X-Weim-Nonce,
 * X-Weim-Signature as the push API signs; each nonce once) or comes from `apps.trusted_networks`.
 */
export function woodylanRoutes(options: AppRoutesOptions): Router {
  const router = Router();
  // Per route, not router.use: the router is mounted at /api, beside /api/v1, whose bodies are not its to read.
  const reader = bodyReader({ limitBytes: options.bodyLimitBytes, parameterLimit: 100, keepRaw: true });

  const flavour: Flavour = {
    systemIdOf: (req) => req.get('systemid'),
    refuse: (res, r) => refuse(res, r.msg, r.status),
    invalid: (res, app, error) => (app.api === 'goravel-socket' ? void res.json({ fail: fieldProblem(error), msg: 'error' }) : refuse(res, fieldProblem(error))),
  };
  const inHeader = appRoutes(router, reader, options, flavour);
  // register names its system in the body (woodylan's own route did).
  const inBody = appRoutes(router, reader, options, { ...flavour, systemIdOf: (req) => bodyString(req, 'systemId') });

  /** One route, whose data is answered in the app's flavour (woodylan's or goravel-socket's). */
  const route = <S extends z.ZodType>(path: keyof typeof GORAVEL_SOCKET, schema: S, run: (app: App, input: z.output<S>, res: Response) => Promise<unknown>, systemIdFrom: 'header' | 'body' = 'header') => {
    (systemIdFrom === 'header' ? inHeader : inBody)(path, schema, async (app, input, res) => {
      const data = await run(app, input, res);
      if (res.headersSent) return;
      if (app.api === 'goravel-socket') res.json(GORAVEL_SOCKET[path](data));
      else answer(res, data);
    });
  };
  const sized = (m: { data: string }, res: Response) => {
    if (Buffer.byteLength(m.data) <= options.maxMessageBytes) return true;
    refuse(res, `data is over ${options.maxMessageBytes} bytes`, 413);
    return false;
  };

  route('/register', schemas.register, async () => [], 'body');
  route('/send_to_client', schemas.sendToClient, async (app, m, res) => (sized(m, res) ? { messageId: await options.service.sendToClients(app.key, [m.clientId], m) } : undefined));
  route('/send_to_clients', schemas.sendToClients, async (app, m, res) => {
    if (sized(m, res)) await options.service.sendToClients(app.key, m.clientIds, m, true);
    return [];
  });
  route('/send_to_group', schemas.sendToGroup, async (app, m, res) => (sized(m, res) ? { messageId: await options.service.sendToGroup(app.key, m.groupName, m) } : undefined));
  route('/bind_to_group', schemas.bindToGroup, async (app, input) => {
    await options.service.bind(app.key, input.clientId, input.groupName, input.userId, input.extend);
    return [];
  });
  route('/get_online_list', schemas.onlineList, async (app, input) => {
    const list = await options.service.online(app.key, input.groupName);
    return { count: list.length, list: list.length > 0 ? list : null };
  });
  route('/close_client', schemas.closeClient, async (app, input) => {
    await options.service.close(app.key, input.clientId);
    return {};
  });
  // goravel-socket's: the app's groups (every system's, there) as `<systemId>:<group>` → clientIds.
  route('/get_all_groups', schemas.allGroups, async (app) => Object.fromEntries([...(await options.service.allGroups(app.key, MAX_GROUPS_LISTED))].map(([group, ids]) => [`${app.key}:${group}`, ids])));
  addOkamiRoutes(router, reader, options, options.service);
  return router;
}

