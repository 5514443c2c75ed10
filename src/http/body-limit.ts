import type { Socket } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';

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
    next(new AppError('payload_too_large'));
  };
}

/**
 * For an answer sent before the request body was read (a refused upload): `Connection: close`,
 * and a lingering close. Node's server ends and destroys such a socket as soon as the answer is
 * written (`destroySoon`); a client still sending its body then gets a reset, which can throw
 * away the answer before the client has read it (seen as EPIPE in the 200 MB upload test, 3 runs
 * in 8). Instead the socket is half-closed after the answer, whatever the client still sends is
 * left to the request's readers or the kernel's window, and it is cut after a short linger, or
 * earlier once the client closes its side.
 */
export function closeAfterResponse(req: Request, res: Response): void {
  res.setHeader('Connection', 'close');
  const socket = req.socket as Socket & { destroySoon?: () => void };
  let lingering = false;
  const linger = () => {
    if (lingering) return;
    lingering = true;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
  };
  socket.destroySoon = () => {
    socket.end();
    linger();
  };
  res.once('finish', linger);
}
