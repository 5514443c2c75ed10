import type { RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import type { App } from './apps.registry.js';
import type { AppsService } from './apps.service.js';
import { appRoutes, type AppRoutesOptions, bodyString, groupName, messageFields } from './app-calls.js';

/** goravel-websocket's envelope: a goravel map, so its keys come sorted; HTTP 200 both ways. */
function answer(res: Response, code: number, data: unknown, msg: string, status = 200): void {
  res.status(status).json({ code, data, msg });
}

const id = z.string().min(1).max(200);
const systemId = z.string().min(1).max(64);
const userId = z.string().min(1).max(128);

const schemas = {
  register: z.object({ system_id: systemId }),
  sendToClient: z.object({ systemId, clientId: id.optional(), userId: userId.optional(), ...messageFields }).refine((b) => b.clientId !== undefined || b.userId !== undefined, { message: 'clientId or userId is required', path: ['clientId'] }),
  sendToSystem: z.object({ systemId, ...messageFields }),
  bindToGroup: z.object({ systemId, clientId: id, groupName, userId: userId.optional().default('') }),
  onlineList: z.object({ systemId, groupName }),
  close: z.object({ systemId, clientId: id }),
  kickUser: z.object({ systemId, userId }),
};

/**
 * okami-chen/goravel-websocket's routes, `POST /api/websocket/<route>` with `systemId` in the body
 * (`system_id` for register) and goravel's sorted envelope `{"code","data","msg"}`. Added to the
 * woodylan router (mounted at /api): `reader` reads the body with its raw text for signatures.
 */
export function addOkamiRoutes(router: Router, reader: RequestHandler, options: AppRoutesOptions, service: AppsService): void {
  const okami = appRoutes(router, reader, options, {
    systemIdOf: (req) => bodyString(req, 'systemId') ?? bodyString(req, 'system_id'),
    refuse: (res, r) => answer(res, r.status === 401 ? 401 : r.status === 200 ? 500 : r.status, [], r.msg, r.status),
    invalid: (res, _app, error) => {
      const issue = error.issues[0];
      answer(res, 500, [], `${String(issue?.path[0] ?? 'body')}: ${issue?.message ?? 'invalid'}`);
    },
  });
  const route = <S extends z.ZodType>(path: string, schema: S, run: (app: App, input: z.output<S>, res: Response) => Promise<void>) => okami(`/websocket/${path}`, schema, run);
  const tooLarge = (m: { data: string }, res: Response) => {
    if (Buffer.byteLength(m.data) <= options.maxMessageBytes) return false;
    answer(res, 413, [], `data is over ${options.maxMessageBytes} bytes`, 413);
    return true;
  };
  route('register', schemas.register, async (_app, _input, res) => answer(res, 0, [], 'success'));
  route('send_to_client', schemas.sendToClient, async (app, m, res) => {
    if (tooLarge(m, res)) return;
    if (m.clientId !== undefined) return answer(res, 0, { messages: [await service.sendToClients(app.key, [m.clientId], m)] }, 'success');
    const ids = await service.sendToUser(app.key, m.userId!, m);
    if (ids.length === 0) return answer(res, 404, [], 'client not found');
    answer(res, 0, { messages: ids }, 'success');
  });
  route('send_to_system', schemas.sendToSystem, async (app, m, res) => {
    if (tooLarge(m, res)) return;
    await service.sendToApp(app.key, m);
    answer(res, 0, [], 'success');
  });
  route('bind_to_group', schemas.bindToGroup, async (app, input, res) => {
    if (!(await service.bind(app.key, input.clientId, input.groupName, input.userId, ''))) return answer(res, 404, [], 'client not found');
    answer(res, 0, [], 'success');
  });
  route('online_list', schemas.onlineList, async (app, input, res) => {
    const list = await service.online(app.key, input.groupName);
    answer(res, 0, { count: list.length, list: list.length > 0 ? list : null }, 'success');
  });
  route('close', schemas.close, async (app, input, res) => {
    await service.close(app.key, input.clientId);
    answer(res, 0, [input.clientId], 'success');
  });
  route('kick_user', schemas.kickUser, async (app, input, res) => {
    const ids = await service.kickUser(app.key, input.userId);
    if (ids.length === 0) return answer(res, 500, [], '客户端不存在');
    answer(res, 0, ids, 'success');
  });
}
