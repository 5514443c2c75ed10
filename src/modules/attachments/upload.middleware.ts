import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import multer, { type StorageEngine } from 'multer';
import { AppError } from '../../errors.js';
import type { AuthedRequest } from '../../http/auth.middleware.js';
import { closeAfterResponse } from '../../http/body-limit.js';
import { parseInput } from '../../http/validate.js';
import { chatUploadInput } from './attachments.schema.js';
import type { AttachmentsService, StoredUpload } from './attachments.service.js';
import type { UploadPurpose } from './attachments.table.js';
import type { UploadType } from './media-types.js';

/** Room for multipart boundaries, part headers and the text fields around the file. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** Per request: ends the route with an error as soon as the storage engine fails (see uploadParser). */
const failFast = new WeakMap<Request, (err: unknown) => void>();

/**
 * A multer StorageEngine that streams the file part straight into the BlobStore through
 * `AttachmentsService.receive` (sniffing the first bytes, enforcing the cap while streaming):
 * nothing is buffered beyond the sniffing window, nothing is written to a spool file.
 */
class BlobStorageEngine implements StorageEngine {
  constructor(
    private readonly attachments: AttachmentsService,
    private readonly purpose: UploadPurpose,
  ) {}

  _handleFile(req: Request, file: Express.Multer.File, callback: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    const fail = (err: unknown) => {
      failFast.get(req)?.(err);
      callback(err);
    };
    let declared: UploadType | undefined;
    try {
      // The type field counts only if it came before the file; otherwise it is checked afterwards.
      declared = this.purpose === 'chat' && req.body?.type !== undefined ? parseInput(chatUploadInput, req.body).type : undefined;
    } catch (err) {
      fail(err);
      return;
    }
    this.attachments.receive((req as AuthedRequest).auth.userId, this.purpose, declared, file.stream).then(
      (stored) => callback(null, stored as unknown as Partial<Express.Multer.File>),
      fail,
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, callback: (error: Error | null) => void): void {
    this.attachments.discard((file as unknown as StoredUpload).key).then(() => callback(null), callback);
  }
}

/**
 * Parses a multipart body with one file in `field` (at most `maxBytes`) into `req.file` (a
 * StoredUpload) and the text fields into `req.body`. Mount it after auth, followed by
 * `closeOnRefusal`. A failure of the storage engine (over the cap, wrong content) is passed on at
 * once, without waiting for multer to read the rest of the upload. A stored file whose request
 * then fails is deleted (it was never recorded).
 */
export function uploadParser(attachments: AttachmentsService, purpose: UploadPurpose, field: string, maxBytes: number): RequestHandler {
  const parse = multer({
    storage: new BlobStorageEngine(attachments, purpose),
    limits: { fileSize: maxBytes, files: 1, fields: 8, fieldSize: 1024, fieldNameSize: 64, parts: 10, headerPairs: 100 },
  }).single(field);
  return (req: Request, res: Response, next: NextFunction) => {
    let settled = false;
    const settle = (err: unknown, fromEngine: boolean) => {
      if (settled) return;
      settled = true;
      if (err) {
        next(fromEngine || err instanceof AppError || err instanceof multer.MulterError ? err : malformed(err));
        return;
      }
      const stored = req.file as unknown as StoredUpload | undefined;
      if (stored) {
        res.once('close', () => {
          // Unrecorded, so never served: losing it to a failed delete leaves only an orphan file.
          if (!res.writableFinished || res.statusCode >= 400) attachments.discard(stored.key).catch(() => {});
        });
      }
      next();
    };
    failFast.set(req, (err) => settle(err, true));
    parse(req, res, (err?: unknown) => settle(err, false));
  };
}

/**
 * Ends the upload chain's refusals (too large, no token, rate limited, bad content): when the body
 * was not read to its end, the answer closes the connection instead of letting Node drain the rest.
 */
export const closeOnRefusal: ErrorRequestHandler = (err, req, res, next) => {
  if (!req.complete) closeAfterResponse(req, res);
  next(err);
};

/** The stored file of a parsed upload; BAD_REQUEST when the request carried none. */
export function storedFile(req: Request, field: string): StoredUpload {
  const stored = req.file as unknown as StoredUpload | undefined;
  if (!stored) throw new AppError('file_part_required', { field });
  return stored;
}

/** Busboy's errors for a broken body (no boundary, truncated part, …) are the client's fault. */
function malformed(err: unknown): AppError {
  return new AppError('malformed_multipart', undefined, { cause: err });
}
