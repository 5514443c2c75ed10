import { z } from 'zod';
import { UPLOAD_TYPES, type UploadType } from './media-types.js';
import { numeric } from '../../http/validate.js';

/** The text fields of /im/chat/upload (the file itself is the multipart part `file`). */
export const chatUploadInput = z.object({
  type: numeric(z.number({ error: 'is required' }))
    .refine((n): n is UploadType => (UPLOAD_TYPES as readonly number[]).includes(n), 'must be 1 (picture), 2 (voice), 3 (video) or 6 (file)')
    .transform((n) => n as UploadType),
});
