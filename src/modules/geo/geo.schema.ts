import { z } from 'zod';
import { decimal } from '../../http/validate.js';
import { resultPageField } from '../search/search.schema.js';

/** A decimal number from a JSON number or a form string (`decimal`); an empty or missing value is refused, not read as 0. */
function numberIn(min: number, max: number) {
  return decimal(z.number({ error: 'must be a number' }).refine(Number.isFinite, 'must be a number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

export const locationInput = z.object({ longitude: numberIn(-180, 180), latitude: numberIn(-90, 90) });

export const nearbyInput = z.object({
  longitude: numberIn(-180, 180),
  latitude: numberIn(-90, 90),
  /** km; more than 0, at most 100. */
  distance: numberIn(0, 100).refine((d) => d > 0, 'must be more than 0').optional().default(100),
  page: resultPageField,
});
