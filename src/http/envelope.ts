import type { Response } from 'express';

/** The body every API response carries (API.md §1). */
export interface Envelope<T> {
  code: number;
  msg: string;
  data: T | null;
}

export function sendOk<T>(res: Response, data: T): void {
  res.status(200).json({ code: 0, msg: 'ok', data } satisfies Envelope<T>);
}

export function sendError(res: Response, status: number, code: number, msg: string): void {
  res.status(status).json({ code, msg, data: null } satisfies Envelope<null>);
}
