import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MulterError } from 'multer';
import type { Logger } from 'pino';
import { AppError, errorCatalog, retryableError } from '../errors.js';
import { sendError } from './envelope.js';

/** Unknown routes: 404 / 1002. */
export const notFoundHandler: RequestHandler = (_req, res) => {
  sendError(res, 404, errorCatalog.NOT_FOUND.code, 'no such route');
};

/**
 * The one place HTTP errors become envelopes. AppErrors map through the catalog; body-parser
 * errors map by type, multer's by code (file too large: 413 / 1004; the rest 400 / 1000); a database out of reach is 503 / 1503 (retry); anything else is logged and answered 500 / 1500 with nothing leaked.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const retryable = err instanceof AppError ? undefined : retryableError(err);
    if (retryable) log.warn({ err, method: req.method, url: req.originalUrl }, 'database unavailable');
    if (retryable ?? err instanceof AppError) {
      err = retryable ?? err;
      if (err.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(err.retryAfterSeconds));
      sendError(res, err.status, err.code, err.message);
      return;
    }
    if (err instanceof MulterError) {
      if (err.code === 'LIMIT_FILE_SIZE') {
        sendError(res, 413, errorCatalog.PAYLOAD_TOO_LARGE.code, errorCatalog.PAYLOAD_TOO_LARGE.msg);
      } else {
        sendError(res, 400, errorCatalog.BAD_REQUEST.code, `upload refused: ${err.message}${err.field ? ` (${err.field})` : ''}`);
      }
      return;
    }
    const type = (err as { type?: unknown }).type;
    const status = (err as { status?: unknown }).status;
    if (type === 'entity.too.large') {
      sendError(res, 413, errorCatalog.PAYLOAD_TOO_LARGE.code, errorCatalog.PAYLOAD_TOO_LARGE.msg);
      return;
    }
    if (type === 'entity.parse.failed') {
      sendError(res, 400, errorCatalog.BAD_REQUEST.code, 'malformed request body');
      return;
    }
    if (status === 416) {
      // A file download's Range lies outside the file (send tells the size in Content-Range).
      const range = (err as { headers?: Record<string, string> }).headers?.['Content-Range'];
      if (range) res.setHeader('Content-Range', range);
      sendError(res, 416, errorCatalog.BAD_REQUEST.code, 'range not satisfiable');
      return;
    }
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendError(res, status === 404 ? 404 : 400, status === 404 ? errorCatalog.NOT_FOUND.code : errorCatalog.BAD_REQUEST.code, 'bad request');
      return;
    }
    log.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
    sendError(res, 500, errorCatalog.INTERNAL.code, errorCatalog.INTERNAL.msg);
  };
}
