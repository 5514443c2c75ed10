import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';
import type { TokenClaims, TokenService } from '../modules/auth/tokens.js';

export type AuthedRequest = Request & { auth: TokenClaims };

/** The token from `Login-Token`, or from `Authorization: Bearer <t>`. */
export function tokenFrom(req: Request): string | undefined {
  const header = req.get('login-token');
  if (header) return header.trim();
  const authorization = req.get('authorization');
  const match = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
  return match?.[1];
}

/**
 * Rejects requests without a valid token (401 / 1001) and sets `req.auth`. Past half the token's
 * life a fresh token goes back in the `Login-Token` response header (unless `refresh` is false).
 */
export function requireAuth(tokens: TokenService, options: { refresh?: boolean } = {}): RequestHandler {
  const refresh = options.refresh ?? true;
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = tokenFrom(req);
    if (!token) throw new AppError('login_required');
    const claims = await tokens.verify(token, { remember: true });
    (req as AuthedRequest).auth = claims;
    if (refresh && tokens.needsRefresh(claims)) res.setHeader('Login-Token', tokens.issue(claims.userId));
    next();
  };
}
