import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Begun, IdempotencyStore, StoredAnswer } from '../../cluster/idempotency.js';
import { AppError } from '../../errors.js';
import type { RawBodyRequest } from '../../http/body-reader.js';

export interface IdempotencyOptions {
  store: IdempotencyStore;
  /** How long a key is kept from its first use (config `push.idempotency_ttl_seconds`). */
  ttlSeconds: number;
  /** How long a running attempt holds its key without renewing (it renews every third of it). */
  leaseMs?: number;
  log?: Pick<Logger, 'warn'>;
}

/** A running attempt's lease: a retry resumes this long after its node died. */
const LEASE_MS = 30_000;

/** The key an app sends: 1 to 255 printable ASCII characters (space to ~). */
const KEY = /^[\x20-\x7E]{1,255}$/;

/** The request's `Idempotency-Key`: undefined without one; BAD_REQUEST (400) when malformed. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !KEY.test(key)) throw new AppError('idempotency_key_invalid');
  return key;
}

/** What a retry must repeat to get the first answer: the method, the path and the raw body. */
export function fingerprintOf(method: string, path: string, rawBody: string): string {
  return createHash('sha256').update(`${method}\n${path}\n${rawBody}`).digest('hex');
}

/**
 * A request's Idempotency-Key with what a retry must repeat (`fingerprint`) and the owner its
 * nonce is spent for: the very same request under the same key may repeat its nonce, nothing else.
 */
export interface RequestKey {
  key: string;
  fingerprint: string;
  owner: string;
}

export function requestKey(key: string, fingerprint: string): RequestKey {
  return { key, fingerprint, owner: fingerprintOf('KEY', key, fingerprint) };
}

/** A signed request's key (`idempotencyKeyOf`) over its method, path (no query) and raw body; undefined without one. */
export function rawRequestKey(req: Request): RequestKey | undefined {
  const key = idempotencyKeyOf(req);
  return key === undefined ? undefined : requestKey(key, fingerprintOf(req.method, req.originalUrl.split('?', 1)[0]!, (req as RawBodyRequest).rawBody ?? ''));
}

/**
 * Claims the key for this attempt (scoped by `scope`: an app). A key whose first request was
 * answered: that answer is sent again (`Idempotent-Replayed: true`) and this is `'replayed'`.
 * Throws `idempotency_in_progress` (its first attempt still runs) or `idempotency_key_reused`
 * (another request holds the key).
 */
export async function claimKey(options: IdempotencyOptions, scope: string, k: RequestKey, res: Response): Promise<Claim | 'replayed'> {
  const begun = await beginKey(options, scope, k.key, k.fingerprint);
  if (begun.kind === 'done') {
    replay(res, begun.answer);
    return 'replayed';
  }
  if (begun.kind === 'running') throw new AppError('idempotency_in_progress', undefined, { retryAfterSeconds: 1 });
  if (begun.kind === 'mismatch') throw new AppError('idempotency_key_reused');
  return begun.claim;
}

/** An app's key, claimed by one attempt (`begin` said `started`). */
export interface Claim {
  key: string;
  op: string;
  token: string;
  resumed: boolean;
}

/** The key's state for this request: a claim of it, or what already holds it. */
async function beginKey(options: IdempotencyOptions, app: string, key: string, fingerprint: string): Promise<Exclude<Begun, { kind: 'started' }> | { kind: 'started'; claim: Claim }> {
  const scoped = `${app}:${key}`;
  const begun = await options.store.begin(scoped, fingerprint, { ttlSeconds: options.ttlSeconds, leaseMs: options.leaseMs ?? LEASE_MS });
  if (begun.kind !== 'started') return begun;
  return { kind: 'started', claim: { key: scoped, op: begun.op, token: begun.token, resumed: begun.resumed } };
}

/** Answers with what the key's first request was answered, marked `Idempotent-Replayed: true`. */
function replay(res: Response, answer: StoredAnswer): void {
  res.statusCode = answer.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Idempotent-Replayed', 'true');
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.end(answer.body);
}

/**
 * Holds the claim while the route runs (renewing its lease) and settles it from the answer before
 * the answer leaves, so that a retry sent after it can have arrived finds it: a 5xx or 429 fails
 * the attempt (a retry runs again, resuming the operation), any other answer is stored as final.
 * A store that cannot be reached is logged and the answer sent anyway (the claim's lease then runs
 * out and a retry resumes).
 */
export function settleOnAnswer(res: Response, claim: Claim, options: IdempotencyOptions): void {
  const { store, log } = options;
  const leaseMs = options.leaseMs ?? LEASE_MS;
  const warn = (what: string) => (err: unknown) => log?.warn({ err, key: claim.key }, what);
  const renewal = setInterval(() => void store.renew(claim.key, claim.token, leaseMs).catch(warn('renewing an idempotency key failed')), leaseMs / 3);
  renewal.unref();
  const end = res.end;
  res.end = function settleThenEnd(this: Response, ...args: unknown[]) {
    res.end = end;
    clearInterval(renewal);
    const [chunk] = args;
    const body = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
    const status = res.statusCode;
    const settled = status >= 500 || status === 429 ? store.fail(claim.key, claim.token) : store.complete(claim.key, claim.token, { status, body });
    void settled.catch(warn('storing an idempotency key\'s answer failed')).finally(() => (end as (...a: unknown[]) => void).apply(res, args));
    return res;
  } as Response['end'];
}
