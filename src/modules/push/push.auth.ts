import { createHmac, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { OnceStore } from '../../cluster/once.js';
import { AppError } from '../../errors.js';
import type { RawBodyRequest } from '../../http/body-reader.js';
import type { RateLimiter } from '../../http/rate-limiter.js';

export interface PushAuthOptions {
  /** App key → secret (config `push.apps`). */
  apps: ReadonlyMap<string, string>;
  /** Where used nonces are remembered, cluster-wide. */
  once: OnceStore;
  /** Requests per app, counted once the signature holds and the nonce is new (a 429 gives the nonce back). */
  limit: RateLimiter;
  maxSkewSeconds: number;
  clock?: () => number;
}

/** A request the push API let in, with the app that signed it. */
export type PushRequest = Request & { pushApp: string };

/**
 * The signature of a push request: hex HMAC-SHA256 with the app's secret over the timestamp, the
 * nonce, the method, the path (no query) and the raw body, each on its own line.
 */
export function signPush(secret: string, parts: { timestamp: string; nonce: string; method: string; path: string; body: string }): string {
  return createHmac('sha256', secret).update(`${parts.timestamp}\n${parts.nonce}\n${parts.method}\n${parts.path}\n${parts.body}`).digest('hex');
}

/** Compared against when the app is unknown, so that an unknown key takes as long as a wrong signature. */
const NO_SECRET = 'no app has this secret; it only keeps the timing the same';

/**
 * Lets in push requests signed by a configured app (401 / 1001 otherwise): headers X-Weim-App,
 * X-Weim-Timestamp (Unix seconds, within `maxSkewSeconds` of the server's clock), X-Weim-Nonce
 * (16–64 of A–Z a–z 0–9 _ -, never used before by that app) and X-Weim-Signature (`signPush`). The
 * signature is checked before the nonce is spent, so nobody without the secret can use up nonces,
 * and a nonce is remembered for twice the skew, longer than its timestamp stays acceptable.
 */
export function requirePushApp(options: PushAuthOptions): RequestHandler {
  const clock = options.clock ?? Date.now;
  return async (req: Request, _res: Response, next: NextFunction) => {
    const app = req.get('x-weim-app');
    const timestamp = req.get('x-weim-timestamp');
    const nonce = req.get('x-weim-nonce');
    const signature = req.get('x-weim-signature');
    if (!app || !timestamp || !nonce || !signature) {
      throw new AppError('UNAUTHENTICATED', 'push requests need X-Weim-App, X-Weim-Timestamp, X-Weim-Nonce and X-Weim-Signature');
    }
    if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce) || !/^[0-9a-fA-F]{64}$/.test(signature)) {
      throw new AppError('UNAUTHENTICATED', 'malformed push signature headers');
    }
    const secret = options.apps.get(app);
    const path = req.originalUrl.split('?', 1)[0]!;
    const expected = signPush(secret ?? NO_SECRET, { timestamp, nonce, method: req.method, path, body: (req as RawBodyRequest).rawBody ?? '' });
    const matches = timingSafeEqual(Buffer.from(signature.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
    if (!secret || !matches) throw new AppError('UNAUTHENTICATED', 'bad push signature');
    if (Math.abs(clock() / 1000 - Number(timestamp)) > options.maxSkewSeconds) {
      throw new AppError('UNAUTHENTICATED', 'X-Weim-Timestamp is too far from the server clock');
    }
    const once = `push:${app}:${nonce}`;
    if (!(await options.once.claim(once, 2 * options.maxSkewSeconds))) {
      throw new AppError('UNAUTHENTICATED', 'this nonce was used before (a replayed request)');
    }
    // After the nonce (a replay does not count against the app), and a request refused here
    // (429) gets its nonce back: it can be sent again as it is.
    try {
      await options.limit.consume(app);
    } catch (err) {
      await options.once.release(once);
      throw err;
    }
    (req as PushRequest).pushApp = app;
    next();
  };
}
