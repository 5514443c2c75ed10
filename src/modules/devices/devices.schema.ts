import { z } from 'zod';
import { numeric } from '../../http/validate.js';
import { PLATFORMS } from './devices.table.js';

/** A provider's device token: printable ASCII without spaces, at most 255 characters (FCM tokens are ~160, APNs 64 hex). */
const tokenField = z.string({ error: 'is required' }).min(1).max(255).regex(/^[\x21-\x7e]+$/, 'must be a device token (printable ASCII, no spaces)');
export const deviceInput = z.object({ platform: z.enum(PLATFORMS, { error: 'must be fcm, apns or webhook' }), token: tokenField });
export const previewsInput = z.object({ previews: numeric(z.union([z.literal(0), z.literal(1)], { error: 'must be 1 (show the text) or 0' })) });
