import { BlockList, isIPv4 } from 'node:net';
import type { Request, RequestHandler, Response, Router } from 'express';
import { z } from 'zod';
import type { OnceStore } from '../../cluster/once.js';
import { addressKey, clientIp } from '../../http/client-ip.js';
import { AppError } from '../../errors.js';
import { signedHeadersOf, verifySignedCall } from '../push/push.auth.js';
import { claimKey, type IdempotencyOptions, rawRequestKey, settleOnAnswer } from '../push/push.idempotency.js';
import type { App, AppRegistry } from './apps.registry.js';
import type { AppsService } from './apps.service.js';

/** What the seeds' HTTP routes share: who may call, and the fields of a message. */

export interface AppRoutesOptions {
  registry: AppRegistry;
  service: AppsService;
  once: OnceStore;
  /** Networks whose calls need no signature (the backends of a private network), as a BlockList. */
  trusted: BlockList;
  trustProxyHops: number;
  maxSkewSeconds: number;
  maxMessageBytes: number;
  bodyLimitBytes: number;
  /** Where Idempotency-Keys are kept, cluster-wide; without it the header is ignored. */
  idempotency?: IdempotencyOptions;
  clock?: () => number;
}

/** Text up to 1,000 characters (a user id, an extend, a group name needs 1–128). */
export const text = z.string().max(1000);
export const groupName = z.string().min(1).max(128).regex(/^[^\p{Cc}]+$/u);
/** woodylan took `data` as a string; an object or array is sent JSON-encoded (woodylan refused it with an empty 400). */
const data = z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown()), z.number(), z.boolean()]).optional().transform((d) => (d === undefined ? '' : typeof d === 'string' ? d : JSON.stringify(d)));
/** The message fields every send takes (woodylan's, echoed to the client as they came). */
export const messageFields = { sendUserId: text.optional().default(''), code: z.number().int().optional().default(0), msg: text.optional().default(''), data };

/** Why a call was refused: an HTTP status and the reason in English (the seeds' clients read no locale). */
export interface Refusal {
  status: number;
  msg: string;
}

/**
 * Who may call an app's routes: a call signed with the app's secret, as the push API signs (each
 * nonce once), or an unsigned one from `apps.trusted_networks`. Answers the app, or why not (in
 * woodylan's words for a missing or unknown systemId: every seed's users know them); a signature
 * that does not hold throws its AppError. `owner`: a retry of the same signed request with the
 * same Idempotency-Key may repeat its nonce.
 */
function appCaller(options: Pick<AppRoutesOptions, 'registry' | 'once' | 'trusted' | 'trustProxyHops' | 'maxSkewSeconds' | 'clock'>) {
  return async (req: Request, systemId: string | undefined, owner?: string): Promise<{ app: App } | Refusal> => {
    if (!systemId) return { status: 200, msg: '系统ID不能为空' };
    const app = await options.registry.enabled(systemId);
    if (!app) return { status: 200, msg: '系统ID无效' };
    if (req.get('x-weim-signature') === undefined) {
      const ip = addressKey(clientIp(req, options.trustProxyHops));
      if (options.trusted.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')) return { app };
      return { status: 401, msg: 'unsigned call from an untrusted network: sign it (X-Weim-Timestamp, X-Weim-Nonce, X-Weim-Signature) or list the network in apps.trusted_networks' };
    }
    const headers = signedHeadersOf(req);
    await verifySignedCall(req, app.secret, headers, { once: options.once, maxSkewSeconds: options.maxSkewSeconds, clock: options.clock, onceKey: `app:${app.key}:${headers.nonce}`, owner });
    return { app };
  };
}

function refusalOf(err: AppError): Refusal {
  return { status: err.status, msg: err.text('en') };
}

/** How a seed answers: where its calls name the app, and its envelope for a refusal and a bad body. */
export interface Flavour {
  systemIdOf(req: Request): string | undefined;
  refuse(res: Response, refusal: Refusal): void;
  invalid(res: Response, app: App, error: z.ZodError): void;
}

/**
 * The seeds' routes, one shape for all of them: the caller (appCaller), an `Idempotency-Key`
 * (a retry gets the first answer, `Idempotent-Replayed: true`, and sends nothing again), the body
 * checked by the route's schema, then the route, which answers in its seed's envelope.
 */
export function appRoutes(router: Router, reader: RequestHandler, options: AppRoutesOptions, flavour: Flavour) {
  const caller = appCaller(options);
  return <S extends z.ZodType>(path: string, schema: S, run: (app: App, input: z.output<S>, res: Response) => Promise<void>) => {
    router.post(path, reader, async (req: Request, res: Response) => {
      try {
        const keyed = options.idempotency ? rawRequestKey(req) : undefined;
        const verdict = await caller(req, flavour.systemIdOf(req), keyed?.owner);
        if (!('app' in verdict)) return flavour.refuse(res, verdict);
        const { app } = verdict;
        const claim = keyed === undefined ? undefined : await claimKey(options.idempotency!, `seed:${app.key}`, keyed, res);
        if (claim === 'replayed') return;
        if (claim) settleOnAnswer(res, claim, options.idempotency!);
        const parsed = schema.safeParse(req.body ?? {});
        if (!parsed.success) return flavour.invalid(res, app, parsed.error);
        await run(app, parsed.data, res);
      } catch (err) {
        // weim's own refusals (a bad signature, a malformed or reused key, a node that did not answer) in the seed's envelope.
        if (err instanceof AppError && !res.headersSent) return flavour.refuse(res, refusalOf(err));
        throw err;
      }
    });
  };
}

/** The request body's string field `name`, if it has one. */
export function bodyString(req: Request, name: string): string | undefined {
  const value = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
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
