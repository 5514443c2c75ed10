import { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import { type AuthedRequest, requireAuth } from '../../http/auth.middleware.js';
import { bodyLimitGuard } from '../../http/body-limit.js';
import { sendOk } from '../../http/envelope.js';
import { parseInput } from '../../http/validate.js';
import type { TokenService } from '../auth/tokens.js';
import { chatUploadInput } from './attachments.schema.js';
import type { AttachmentsService } from './attachments.service.js';
import type { UploadPurpose } from './attachments.table.js';
import { UPLOAD_TYPES } from './media-types.js';
import { closeOnRefusal, MULTIPART_OVERHEAD_BYTES, storedFile, uploadParser } from './upload.middleware.js';

/**
 * The multipart routes. Mounted before the JSON/form parsers and the API-wide body limit: each has
 * its own limit (a declared Content-Length past it is refused unread), auth and the per-user rate
 * limit run before a byte of the body is read.
 */
export function attachmentsRoutes(attachments: AttachmentsService, tokens: TokenService, router: Router = Router()): Router {
  const auth = requireAuth(tokens);
  const admit = async (req: Request, _res: Response, next: NextFunction) => {
    await attachments.admit((req as AuthedRequest).auth.userId);
    next();
  };
  /** Limit on the declared length, auth, rate limit, the streaming parser; a refusal closes the connection. */
  const receiving = (purpose: UploadPurpose, field: string, cap: number): Array<RequestHandler | ErrorRequestHandler> => [
    bodyLimitGuard(cap + MULTIPART_OVERHEAD_BYTES),
    auth,
    admit,
    uploadParser(attachments, purpose, field, cap),
    closeOnRefusal,
  ];
  const chatCap = Math.max(...UPLOAD_TYPES.map((t) => attachments.caps.perType[t]));

  router.post('/im/chat/upload', receiving('chat', 'file', chatCap), async (req: Request, res: Response) => {
    const input = parseInput(chatUploadInput, req.body);
    sendOk(res, await attachments.completeChatUpload((req as AuthedRequest).auth.userId, input.type, storedFile(req, 'file')));
  });
  router.post('/user/update/avatar', receiving('avatar', 'avatar', attachments.caps.avatar), async (req: Request, res: Response) => {
    sendOk(res, { user: await attachments.completeAvatar((req as AuthedRequest).auth.userId, storedFile(req, 'avatar')) });
  });
  return router;
}
