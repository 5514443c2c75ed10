import { basename } from 'node:path';
import { Router } from 'express';
import { AppError } from '../../errors.js';
import { isBlobKey } from '../../storage/blob-store.js';
import type { LocalBlobStore } from '../../storage/blob-store.local.js';
import type { AttachmentsService } from './attachments.service.js';

const ONE_YEAR_MS = 365 * 24 * 3600 * 1000;

/**
 * Serves the local store's blobs (GET/HEAD `<public_path>/<key>`), for anyone holding the URL (the
 * key is unguessable). Only keys of weim's own shape that are recorded in `uploads` are served, so
 * no path of the client's choosing reaches the disk. Responses carry the stored content type,
 * `nosniff`, a download disposition for type 6, range support (video seeking) and year-long
 * immutable caching (a key's bytes never change).
 */
export function filesRoutes(attachments: AttachmentsService, store: LocalBlobStore): Router {
  const router = Router();
  router.get('/*key', async (req, res) => {
    const key = ([] as string[]).concat(req.params.key ?? []).join('/');
    const download = isBlobKey(key) ? await attachments.download(key) : undefined;
    if (!download) throw new AppError('file_not_found');
    res.setHeader('Content-Type', download.mime);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    if (download.attachment) res.setHeader('Content-Disposition', `attachment; filename="${basename(key)}"`);
    res.sendFile(key, { root: store.root, dotfiles: 'deny', acceptRanges: true, maxAge: ONE_YEAR_MS, immutable: true });
  });
  return router;
}
