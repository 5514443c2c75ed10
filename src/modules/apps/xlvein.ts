import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { OnceStore } from '../../cluster/once.js';
import { AppError } from '../../errors.js';
import { spendNonce } from '../push/push.auth.js';
import { claimKey, fingerprintOf, idempotencyKeyOf, type IdempotencyOptions, requestKey, type RequestKey, settleOnAnswer } from '../push/push.idempotency.js';
import type { AppRegistry } from './apps.registry.js';
import type { AppsService } from './apps.service.js';

/**
 * seanlan/xlvein's protocol: clients connect with `/ws/connect?app_id=&token=` (app-gateway.ts)
 * and are their app's user `sub`; a client's `{"to","data"}` reaches every connection of user `to`
 * of the same app; the app's backend pushes with `POST /api/v1/im/push`, signed with an MD5 of its
 * fields and the app's secret (docs/gateway.md).
 */

const userIdText = z.string().min(1).max(128);

/** A client's frame, as xlvein reads it: `{"to": <user>, "data": <object>}`; anything else is ignored. */
const clientFrame = z.object({ to: userIdText, data: z.record(z.string(), z.unknown()), event: z.unknown().optional() });

/**
 * The frame user `to` gets for a client's frame (xlvein's field order; `send_at` in seconds, as
 * xlvein stamped relayed frames), or undefined for a frame xlvein would ignore. `event` is always 1
 * (a single chat): xlvein trusted the client's, and its 2 crashed the server.
 */
export function relayFrame(from: string, text: string): { to: string; payload: string } | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = clientFrame.safeParse(raw);
  if (!parsed.success) return undefined;
  const { to, data } = parsed.data;
  return { to, payload: JSON.stringify({ from, to, event: 1, data, msg_id: randomUUID(), send_at: Math.floor(Date.now() / 1000), conversation_id: to }) };
}

/** The push's fields; `ts` (Unix seconds or milliseconds) is weim's addition, signed with the rest. */
export const xlveinPushInput = z.object({
  app_key: z.string().min(1).max(64),
  send_to: userIdText,
  message: z.string().min(2).max(64 * 1024),
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'must be 16–64 of A–Z a–z 0–9 _ -'),
  ts: z.string().regex(/^\d{10}(\d{3})?$/, 'must be Unix seconds or milliseconds'),
  sign: z.string().regex(/^[0-9A-Fa-f]{32}$/, 'must be 32 hex characters'),
});

/** xlvein's signature: the fields sorted by name, `k=v` joined with `&`, then `&key=<secret>`, MD5, upper-case hex. */
export function xlveinSign(fields: Record<string, string>, secret: string): string {
  const text = Object.keys(fields).sort().map((k) => `${k}=${fields[k]}`).join('&');
  return createHash('md5').update(`${text}&key=${secret}`).digest('hex').toUpperCase();
}

/** weim's refusals of a push in xlvein's words (its codes: 1002 a stale or replayed push). */
const XLVEIN_REFUSALS = {
  push_timestamp_skew: [1002, 'ts is too far from the server clock'],
  nonce_replayed: [1002, 'nonce used before (a replayed push)'],
  idempotency_in_progress: [409, 'a push with this Idempotency-Key is still in progress; retry later'],
  idempotency_key_reused: [422, 'this Idempotency-Key was used for another push'],
} as const;

function reply(res: Response, error: number, message = ''): void {
  res.json(error === 0 ? { error: 0, data: {}, message: '' } : { error, message });
}

export interface XlveinOptions {
  /** Where Idempotency-Keys are kept, cluster-wide; without it the header is ignored. */
  idempotency?: IdempotencyOptions;
  registry: AppRegistry;
  service: AppsService;
  once: OnceStore;
  maxSkewSeconds: number;
  clock?: () => number;
}

/**
 * `POST /api/v1/im/push` (form or JSON), on the API router. xlvein answered every failure with
 * `{"error":500,"message":"请稍后重试"}`; here each has the code xlvein meant: 400 a bad field, 1001
 * an unknown app, 1002 a bad signature, a stale `ts` or a used nonce, 1003 a message that is not a
 * JSON object. The pushed frame goes to every connection of user `send_to` of the app.
 */
export function xlveinPushRoute(router: Router, options: XlveinOptions): void {
  const clock = options.clock ?? Date.now;
  router.post('/im/push', async (req: Request, res: Response) => {
    const parsed = xlveinPushInput.safeParse(req.body ?? {});
    if (!parsed.success) return reply(res, 400, `请求参数错误: ${String(parsed.error.issues[0]?.path[0] ?? 'body')}`);
    const p = parsed.data;
    const app = await options.registry.enabled(p.app_key);
    if (!app) return reply(res, 1001, 'app not found');
    const expected = xlveinSign({ app_key: p.app_key, message: p.message, nonce: p.nonce, send_to: p.send_to, ts: p.ts }, app.secret);
    if (!timingSafeEqual(Buffer.from(expected), Buffer.from(p.sign.toUpperCase()))) return reply(res, 1002, 'sign error');
    const seconds = p.ts.length === 13 ? Number(p.ts) / 1000 : Number(p.ts);
    // An Idempotency-Key: a retry of the same push (its nonce included) gets the first answer.
    let keyed: RequestKey | undefined;
    try {
      const key = options.idempotency ? idempotencyKeyOf(req) : undefined;
      keyed = key === undefined ? undefined : requestKey(key, fingerprintOf('POST', '/api/v1/im/push', JSON.stringify([p.app_key, p.send_to, p.message, p.nonce, p.ts])));
    } catch {
      return reply(res, 400, '请求参数错误: Idempotency-Key');
    }
    try {
      await spendNonce({ once: options.once, maxSkewSeconds: options.maxSkewSeconds, clock }, seconds, `xlvein:${app.key}:${p.nonce}`, keyed?.owner);
      const claim = keyed === undefined ? undefined : await claimKey(options.idempotency!, `xlvein:${app.key}`, keyed, res);
      if (claim === 'replayed') return;
      if (claim) settleOnAnswer(res, claim, options.idempotency!);
    } catch (err) {
      const refusal = err instanceof AppError ? (XLVEIN_REFUSALS as Partial<Record<string, readonly [number, string]>>)[err.reason] : undefined;
      if (!refusal) throw err;
      return reply(res, refusal[0], refusal[1]);
    }
    let data: unknown;
    try {
      data = JSON.parse(p.message);
    } catch {
      data = undefined;
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return reply(res, 1003, 'message must be a JSON object');
    await options.service.toUser(app.key, p.send_to, JSON.stringify({ to: p.send_to, data, msg_id: randomUUID(), send_at: clock() }));
    reply(res, 0);
  });
}
