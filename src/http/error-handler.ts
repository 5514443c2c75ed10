import type { ErrorRequestHandler, RequestHandler } from 'express';
import { MulterError } from 'multer';
import type { Logger } from 'pino';
import { AppError, retryableError } from '../errors.js';
import { type Locale, localeOf } from '../i18n.js';
import { sendError } from './envelope.js';

/** Unknown routes: 404 / 1002. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(new AppError('no_route'));
};

/**
 * The one place HTTP errors become envelopes, in the language the request's Accept-Language asks
 * for (`defaultLocale` when it names neither zh nor en). AppErrors map through the reasons
 * catalog; body-parser errors map by type, multer's by code (file too large: 413 / 1004; the rest
 * 400 / 1000); a database out of reach is 503 / 1503 (retry); anything else is logged and answered
 * 500 / 1500 with nothing leaked.
 */
export function errorHandler(log: Logger, defaultLocale: Locale): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const retryable = err instanceof AppError ? undefined : retryableError(err);
    if (retryable) log.warn({ err, method: req.method, url: req.originalUrl }, 'database unavailable');
    const known = retryable ?? (err instanceof AppError ? err : undefined) ?? asAppError(err, res);
    if (!known) log.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error');
    sendError(res, known ?? new AppError('internal'), localeOf(req.headers['accept-language'], defaultLocale));
  };
}

/** A library's error (multer, body parsers, send) as the AppError it means, or undefined (an internal error). */
function asAppError(err: unknown, res: Parameters<RequestHandler>[1]): AppError | undefined {
  if (err instanceof MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new AppError('payload_too_large');
    return new AppError('upload_refused', { detail: `${err.message}${err.field ? ` (${err.field})` : ''}` });
  }
  const type = (err as { type?: unknown }).type;
  const status = (err as { status?: unknown }).status;
  if (type === 'entity.too.large') return new AppError('payload_too_large');
  if (type === 'entity.parse.failed') return new AppError('malformed_body');
  if (status === 416) {
    // A file download's Range lies outside the file (send tells the size in Content-Range).
    const range = (err as { headers?: Record<string, string> }).headers?.['Content-Range'];
    if (range) res.setHeader('Content-Range', range);
    return new AppError('range_not_satisfiable');
  }
  if (typeof status === 'number' && status >= 400 && status < 500) return new AppError(status === 404 ? 'not_found' : 'bad_request');
  return undefined;
}
