import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError } from '../../errors.js';

/**
 * Lets in requests that carry `Authorization: Bearer <admin.token>` (401 / 1001 otherwise). A user's
 * `Login-Token` never passes, whatever it holds. Compared in constant time (over SHA-256 digests,
 * so a wrong length tells nothing either).
 */
export function requireAdmin(token: string): RequestHandler {
  const expected = createHash('sha256').update(token).digest();
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const given = /^Bearer (.+)$/.exec(header)?.[1] ?? '';
    if (!given || !timingSafeEqual(createHash('sha256').update(given).digest(), expected)) throw new AppError('admin_token_required');
    next();
  };
}
