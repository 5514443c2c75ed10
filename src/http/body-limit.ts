import type { Request, RequestHandler, Response } from 'express';
import { errorCatalog } from '../errors.js';
import { sendError } from './envelope.js';

/** How long a refused upload may keep sending before its connection is cut. */
const LINGER_MS = 5000;

/**
 * Refuses a body whose declared Content-Length exceeds `limitBytes` before reading any of it:
 * 413 / 1004 with `Connection: close`, then the socket is cut after a short linger (so the client
 * can read the answer) instead of draining the whole upload. Chunked bodies without a length are
 * capped by the body parsers, which discard the excess without buffering it.
 */
export function bodyLimitGuard(limitBytes: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.get('content-length') ?? 0);
    if (!(declared > limitBytes)) {
      next();
      return;
    }
    closeAfterResponse(req, res);
    sendError(res, 413, errorCatalog.PAYLOAD_TOO_LARGE.code, errorCatalog.PAYLOAD_TOO_LARGE.msg);
  };
}

/**
 * For an answer sent before the request body was read (a refused upload): `Connection: close`,
 * then the socket is cut after a short linger instead of draining whatever the client still sends.
 */
export function closeAfterResponse(req: Request, res: Response): void {
  res.setHeader('Connection', 'close');
  res.once('finish', () => {
    const socket = req.socket;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  });
}
