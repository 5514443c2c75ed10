import { z } from 'zod';
import { numeric, textField } from '../../http/validate.js';

/** Pages of search results (offsets past 500 pages are refused rather than scanned). */
export const resultPageField = numeric(z.number({ error: 'must be a page number' }).int().min(1).max(500, 'must be at most 500')).optional().default(1);

/** A word of 2–20 characters after trimming (one character would match too much to be useful). */
export const searchInput = z.object({ word: textField(2, 20), page: resultPageField });
