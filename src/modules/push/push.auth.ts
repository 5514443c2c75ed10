import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { OnceStore } from '../../cluster/once.js';
import { AppError } from '../../errors.js';
import type { RawBodyRequest } from '../../http/body-reader.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { claimKey, type IdempotencyOptions, rawRequestKey, settleOnAnswer } from './push.idempotency.js';

export interface PushAuthOptions {
  /** App key → secret (config `push.apps`; or the realtime gateway's apps, read from their table). */
  apps: { get(key: string): string | undefined | Promise<string | undefined> };
  /** Where used nonces are remembered, cluster-wide. */
  once: OnceStore;
  /** Requests per app, counted once the signature holds and the nonce is new (a 429 gives the nonce back). */
  limit: RateLimiter;
  maxSkewSeconds: number;
  /** Where Idempotency-Keys are kept, cluster-wide; without it the header is ignored. */
  idempotency?: IdempotencyOptions;
  clock?: () => number;
}

/**
 * A request the push API let in, with the app that signed it and, when it carried an
 * Idempotency-Key, the operation the key stands for (the same across a key's attempts).
 */
export type PushRequest = Request & { pushApp: string; pushOp?: string };

/**
 * The signature of a push request: hex HMAC-SHA256 with the app's secret over the timestamp, the
 * nonce, the method, the path (no query) and the raw body, each on its own line.
 */
export function signPush(secret: string, parts: { timestamp: string; nonce: string; method: string; path: string; body: string }): string {
  return createHmac('sha256', secret).update(`${parts.timestamp}\n${parts.nonce}\n${parts.method}\n${parts.path}\n${parts.body}`).digest('hex');
}

/** Compared against when the app is unknown, so that an unknown key takes as long as a wrong signature. */
const NO_SECRET = 'no app has this secret; it only keeps the timing the same';

/** The signature headers of a signed call (the app named elsewhere: X-Weim-App, or the seed's systemId). */
export interface SignedHeaders {
  timestamp: string;
  nonce: string;
  signature: string;
}

/** X-Weim-Timestamp, -Nonce and -Signature, checked for shape: `push_headers_missing` / `push_headers_malformed` otherwise. */
export function signedHeadersOf(req: Request): SignedHeaders {
  const timestamp = req.get('x-weim-timestamp');
  const nonce = req.get('x-weim-nonce');
  const signature = req.get('x-weim-signature');
  if (!timestamp || !nonce || !signature) throw new AppError('push_headers_missing');
  if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !/^[0-9a-fA-F]{64}$/.test(signature)) {
    throw new AppError('push_headers_malformed');
  }
  return { timestamp, nonce, signature };
}

/** What makes a signed call fresh: a timestamp near the server's clock and a nonce never used before. */
export interface Freshness {
  once: OnceStore;
  maxSkewSeconds: number;
  clock?: () => number;
}

/**
 * Refuses a call whose timestamp (Unix seconds) is more than the skew off (`push_timestamp_skew`)
 * or whose nonce (`onceKey`, scoped by the caller) was used before (`nonce_replayed`), and spends
 * the nonce for twice the skew, longer than its timestamp stays acceptable. `owner`: a retry with
 * the same owner may spend it again (see requirePushApp).
 */
export async function spendNonce(fresh: Freshness, seconds: number, onceKey: string, owner?: string): Promise<void> {
  if (Math.abs((fresh.clock ?? Date.now)() / 1000 - seconds) > fresh.maxSkewSeconds) throw new AppError('push_timestamp_skew');
  if (!(await fresh.once.claim(onceKey, 2 * fresh.maxSkewSeconds, owner))) throw new AppError('nonce_replayed');
}

/**
 * Refuses (`push_signature_bad`) a call not signed as the push API signs (`signPush` over the
 * method, the path without the query and the raw body) with `secret`; undefined (an unknown app)
 * is refused after the same work, so that it takes as long as a wrong signature.
 */
export function checkSignature(req: Request, secret: string | undefined, headers: SignedHeaders): void {
  const path = req.originalUrl.split('?', 1)[0]!;
  const expected = signPush(secret ?? NO_SECRET, { timestamp: headers.timestamp, nonce: headers.nonce, method: req.method, path, body: (req as RawBodyRequest).rawBody ?? '' });
  const matches = timingSafeEqual(Buffer.from(headers.signature.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
  if (!secret || !matches) throw new AppError('push_signature_bad');
}

/**
 * A signed call's whole check: the signature, then its freshness. The signature comes first, so
 * nobody without the secret can use up nonces. Throws the AppError of the first thing wrong.
 */
export async function verifySignedCall(req: Request, secret: string | undefined, headers: SignedHeaders, fresh: Freshness & { onceKey: string; owner?: string }): Promise<void> {
  checkSignature(req, secret, headers);
  await spendNonce(fresh, Number(headers.timestamp), fresh.onceKey, fresh.owner);
}

/**
 * Lets in push requests signed by a configured app (401 / 1001 otherwise): headers X-Weim-App,
 * X-Weim-Timestamp (Unix seconds, within `maxSkewSeconds` of the server's clock), X-Weim-Nonce
 * (16–64 of A–Z a–z 0–9 _ -, never used before by that app) and X-Weim-Signature (`signPush`). The
 * signature is checked before the nonce is spent, so nobody without the secret can use up nonces,
 * and a nonce is remembered for twice the skew, longer than its timestamp stays acceptable.
 *
 * An `Idempotency-Key` (when `idempotency` is set) is read once the signature holds. A retry of
 * a signed request repeats its nonce, so the nonce is claimed for the request (the key and the
 * fingerprint: method, path, body): the very same request, key included, is let through again
 * and gets the key's answer (or 409 while its first attempt runs), and anything else with that
 * nonce is a replay (401). So the key, though not signed, gives nothing away: a request seen
 * once cannot run again under another key or without one, and only the app's own requests,
 * signed with a new nonce, can claim a key.
 */
export function requirePushApp(options: PushAuthOptions): RequestHandler {
  const clock = options.clock ?? Date.now;
  return async (req: Request, res: Response, next: NextFunction) => {
    const app = req.get('x-weim-app');
    if (!app) throw new AppError('push_headers_missing');
    const headers = signedHeadersOf(req);
    const secret = await options.apps.get(app);
    checkSignature(req, secret, headers);
    const idempotency = options.idempotency;
    const keyed = idempotency ? rawRequestKey(req) : undefined;
    const once = `push:${app}:${headers.nonce}`;
    await spendNonce({ once: options.once, maxSkewSeconds: options.maxSkewSeconds, clock }, Number(headers.timestamp), once, keyed?.owner);
    const claim = keyed === undefined ? undefined : await claimKey(idempotency!, app, keyed, res);
    if (claim === 'replayed') return;
    // After the nonce (a replay does not count against the app), and a request refused here (429)
    // can be sent again as it is: without a key it gets its nonce back; with one, the nonce lets
    // the same request through again anyway, and its attempt is failed so that it runs then.
    try {
      await options.limit.consume(app);
    } catch (err) {
      if (claim) await idempotency!.store.fail(claim.key, claim.token);
      else await options.once.release(once);
      throw err;
    }
    if (claim) settleOnAnswer(res, claim, idempotency!);
    (req as PushRequest).pushApp = app;
    (req as PushRequest).pushOp = claim?.op;
    next();
  };
}
