import { BlockList, isIPv4 } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { OnceStore } from '../../cluster/once.js';
import { bodyReader, type RawBodyRequest } from '../../http/body-reader.js';
import { addressKey, clientIp } from '../../http/client-ip.js';
import { signPush } from '../push/push.auth.js';
import type { App, AppRegistry } from './apps.registry.js';
import type { AppsService } from './apps.service.js';

export interface WoodylanRoutesOptions {
  registry: AppRegistry;
  service: AppsService;
  once: OnceStore;
  /** Networks whose calls need no signature (the backends of a private network), as a BlockList. */
  trusted: BlockList;
  trustProxyHops: number;
  maxSkewSeconds: number;
  maxMessageBytes: number;
  bodyLimitBytes: number;
  clock?: () => number;
}

/** woodylan's envelope, HTTP 200 both ways: code 0 and `success`, or code -1 and the reason. */
function answer(res: Response, data: unknown): void {
  res.json({ code: 0, msg: 'success', data });
}

function refuse(res: Response, msg: string, status = 200): void {
  res.status(status).json({ code: -1, msg, data: [] });
}

/** Text up to 1,000 characters (a user id, an extend, a group name needs 1–128). */
const text = z.string().max(1000);
const groupName = z.string().min(1).max(128).regex(/^[^\p{Cc}]+$/u);
/** woodylan took `data` as a string; an object or array is sent JSON-encoded (woodylan refused it with an empty 400). */
const data = z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown()), z.number(), z.boolean()]).optional().transform((d) => (d === undefined ? '' : typeof d === 'string' ? d : JSON.stringify(d)));
const message = { sendUserId: text.optional().default(''), code: z.number().int().optional().default(0), msg: text.optional().default(''), data };

const schemas = {
  register: z.object({ systemId: z.string().min(1).max(64) }),
  sendToClient: z.object({ clientId: z.string().min(1).max(200), ...message }),
  sendToClients: z.object({ clientIds: z.array(z.string().max(200)).max(1000), ...message }),
  sendToGroup: z.object({ groupName, ...message }),
  bindToGroup: z.object({ clientId: z.string().min(1).max(200), groupName, userId: text.optional().default(''), extend: text.optional().default('') }),
  onlineList: z.object({ groupName }),
  closeClient: z.object({ clientId: z.string().min(1).max(200) }),
};

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
export function woodylanRoutes(options: WoodylanRoutesOptions): Router {
  const router = Router();
  const clock = options.clock ?? Date.now;
  // Per route, not router.use: the router is mounted at /api, beside /api/v1, whose bodies are not its to read.
  const reader = bodyReader({ limitBytes: options.bodyLimitBytes, parameterLimit: 100, keepRaw: true });

  /** The app the call is for, once it is let in; undefined when it was refused (answered). */
  const appOf = async (req: Request, res: Response, systemId: string | undefined): Promise<App | undefined> => {
    if (!systemId) return void refuse(res, '系统ID不能为空');
    const app = await options.registry.enabled(systemId);
    if (!app) return void refuse(res, '系统ID无效');
    const signature = req.get('x-weim-signature');
    if (signature === undefined) {
      const ip = addressKey(clientIp(req, options.trustProxyHops));
      if (options.trusted.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')) return app;
      return void refuse(res, 'unsigned call from an untrusted network: sign it (X-Weim-Timestamp, X-Weim-Nonce, X-Weim-Signature) or list the network in apps.trusted_networks', 401);
    }
    const timestamp = req.get('x-weim-timestamp') ?? '';
    const nonce = req.get('x-weim-nonce') ?? '';
    if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !/^[0-9a-fA-F]{64}$/.test(signature)) return void refuse(res, 'malformed signature headers', 401);
    const expected = signPush(app.secret, { timestamp, nonce, method: req.method, path: req.originalUrl.split('?', 1)[0]!, body: (req as RawBodyRequest).rawBody ?? '' });
    if (!timingSafeEqual(Buffer.from(signature.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'))) return void refuse(res, 'bad signature', 401);
    if (Math.abs(clock() / 1000 - Number(timestamp)) > options.maxSkewSeconds) return void refuse(res, 'X-Weim-Timestamp is too far from the server clock', 401);
    if (!(await options.once.claim(`app:${app.key}:${nonce}`, options.maxSkewSeconds * 2))) return void refuse(res, 'this nonce was used before (a replayed request)', 401);
    return app;
  };

  /** One route: the app, the body checked by `schema`, then `run`. */
  const route = <S extends z.ZodType>(path: string, schema: S, run: (app: App, input: z.output<S>, res: Response) => Promise<void>, systemIdFrom: 'header' | 'body' = 'header') => {
    router.post(path, reader, async (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const app = await appOf(req, res, systemIdFrom === 'header' ? req.get('systemid') : typeof body.systemId === 'string' ? body.systemId : undefined);
      if (!app) return;
      const parsed = schema.safeParse(body);
      if (!parsed.success) return refuse(res, fieldProblem(parsed.error));
      await run(app, parsed.data, res);
    });
  };
  const sized = (m: { data: string }, res: Response) => {
    if (Buffer.byteLength(m.data) <= options.maxMessageBytes) return true;
    refuse(res, `data is over ${options.maxMessageBytes} bytes`, 413);
    return false;
  };

  route('/register', schemas.register, async (_app, _input, res) => answer(res, []), 'body');
  route('/send_to_client', schemas.sendToClient, async (app, m, res) => {
    if (sized(m, res)) answer(res, { messageId: await options.service.sendToClients(app.key, [m.clientId], m) });
  });
  route('/send_to_clients', schemas.sendToClients, async (app, m, res) => {
    if (!sized(m, res)) return;
    await options.service.sendToClients(app.key, m.clientIds, m, true);
    answer(res, []);
  });
  route('/send_to_group', schemas.sendToGroup, async (app, m, res) => {
    if (sized(m, res)) answer(res, { messageId: await options.service.sendToGroup(app.key, m.groupName, m) });
  });
  route('/bind_to_group', schemas.bindToGroup, async (app, input, res) => {
    await options.service.bind(app.key, input.clientId, input.groupName, input.userId, input.extend);
    answer(res, []);
  });
  route('/get_online_list', schemas.onlineList, async (app, input, res) => {
    const list = await options.service.online(app.key, input.groupName);
    answer(res, { count: list.length, list: list.length > 0 ? list : null });
  });
  route('/close_client', schemas.closeClient, async (app, input, res) => {
    await options.service.close(app.key, input.clientId);
    answer(res, {});
  });
  return router;
}

/** `apps.trusted_networks` (comma-separated CIDRs) as a BlockList; throws on a malformed one. */
export function trustedNetworks(list: string): BlockList {
  const blocks = new BlockList();
  for (const cidr of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address, bits] = cidr.split('/') as [string, string | undefined];
    const type = isIPv4(address) ? 'ipv4' : 'ipv6';
    blocks.addSubnet(address, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type);
  }
  return blocks;
}
