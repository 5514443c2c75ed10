import { BlockList, isIPv4 } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { z } from 'zod';
import type { OnceStore } from '../../cluster/once.js';
import type { RawBodyRequest } from '../../http/body-reader.js';
import { addressKey, clientIp } from '../../http/client-ip.js';
import { signPush } from '../push/push.auth.js';
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
  clock?: () => number;
}

/** Text up to 1,000 characters (a user id, an extend, a group name needs 1–128). */
export const text = z.string().max(1000);
export const groupName = z.string().min(1).max(128).regex(/^[^\p{Cc}]+$/u);
/** woodylan took `data` as a string; an object or array is sent JSON-encoded (woodylan refused it with an empty 400). */
const data = z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown()), z.number(), z.boolean()]).optional().transform((d) => (d === undefined ? '' : typeof d === 'string' ? d : JSON.stringify(d)));
/** The message fields every send takes (woodylan's, echoed to the client as they came). */
export const messageFields = { sendUserId: text.optional().default(''), code: z.number().int().optional().default(0), msg: text.optional().default(''), data };

/**
 * Who may call an app's routes: a call signed with the app's secret, as the push API signs (each
 * nonce once), or an unsigned one from `apps.trusted_networks`. Answers the app, or why not (in
 * woodylan's words for a missing or unknown systemId: every seed's users know them).
 */
export function appCaller(options: Pick<AppRoutesOptions, 'registry' | 'once' | 'trusted' | 'trustProxyHops' | 'maxSkewSeconds' | 'clock'>) {
  const clock = options.clock ?? Date.now;
  return async (req: Request, systemId: string | undefined): Promise<{ app: App } | { status: number; msg: string }> => {
    if (!systemId) return { status: 200, msg: '系统ID不能为空' };
    const app = await options.registry.enabled(systemId);
    if (!app) return { status: 200, msg: '系统ID无效' };
    const signature = req.get('x-weim-signature');
    if (signature === undefined) {
      const ip = addressKey(clientIp(req, options.trustProxyHops));
      if (options.trusted.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')) return { app };
      return { status: 401, msg: 'unsigned call from an untrusted network: sign it (X-Weim-Timestamp, X-Weim-Nonce, X-Weim-Signature) or list the network in apps.trusted_networks' };
    }
    const timestamp = req.get('x-weim-timestamp') ?? '';
    const nonce = req.get('x-weim-nonce') ?? '';
    if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !/^[0-9a-fA-F]{64}$/.test(signature)) return { status: 401, msg: 'malformed signature headers' };
    const expected = signPush(app.secret, { timestamp, nonce, method: req.method, path: req.originalUrl.split('?', 1)[0]!, body: (req as RawBodyRequest).rawBody ?? '' });
    if (!timingSafeEqual(Buffer.from(signature.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'))) return { status: 401, msg: 'bad signature' };
    if (Math.abs(clock() / 1000 - Number(timestamp)) > options.maxSkewSeconds) return { status: 401, msg: 'X-Weim-Timestamp is too far from the server clock' };
    if (!(await options.once.claim(`app:${app.key}:${nonce}`, options.maxSkewSeconds * 2))) return { status: 401, msg: 'this nonce was used before (a replayed request)' };
    return { app };
  };
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
