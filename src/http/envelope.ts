import type { Response } from 'express';
import type { AppError, Reason } from '../errors.js';
import type { Locale } from '../i18n.js';

/** The body every API response carries (API.md §1); an error's also names its rule in `reason`. */
export interface Envelope<T> {
  code: number;
  msg: string;
  reason?: Reason;
  data: T | null;
}

export function sendOk<T>(res: Response, data: T): void {
  send(res, 200, { code: 0, msg: 'ok', data } satisfies Envelope<T>);
}

/** The error's envelope, its message in `locale`. */
export function sendError(res: Response, error: AppError, locale: Locale): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  send(res, error.status, { code: error.code, msg: error.text(locale), reason: error.reason, data: null } satisfies Envelope<null>);
}

/**
 * Writes the envelope straight to the response: `res.json` would also run Express's ETag hash
 * and freshness check, which API answers (no-store POSTs) never use.
 */
function send(res: Response, status: number, envelope: Envelope<unknown>): void {
  const body = JSON.stringify(envelope);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}
