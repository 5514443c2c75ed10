import type { Response } from 'express';

/** The body every API response carries (API.md §1). */
export interface Envelope<T> {
  code: number;
  msg: string;
  data: T | null;
}

export function sendOk<T>(res: Response, data: T): void {
  send(res, 200, { code: 0, msg: 'ok', data } satisfies Envelope<T>);
}

export function sendError(res: Response, status: number, code: number, msg: string): void {
  send(res, status, { code, msg, data: null } satisfies Envelope<null>);
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
