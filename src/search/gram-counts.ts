import { setBounded } from '../bounded-map.js';
import type { Db } from '../db/database.js';
import { countGrams } from './search.repo.js';

/** How long a count is reused. */
const TTL_MS = 60_000;
const CAPACITY = 50_000;

/**
 * Capped posting counts per gram, remembered for a minute: they only choose which gram drives a
 * lookup, so a stale count can make a search slower but never changes its results. A zero is
 * never remembered (a search with a zero-count gram answers nothing, and the next write may add
 * the gram), so a new name is findable at once. Counting costs an index walk of up to `cap`
 * entries per gram, about half the time of a 4-character search.
 */
export class GramCounts {
  private readonly counts = new Map<string, { n: number; until: number }>();

  constructor(
    private readonly db: Db,
    private readonly cap: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async of(kind: number, grams: string[]): Promise<number[]> {
    const now = this.clock();
    const result = grams.map((gram) => {
      const hit = this.counts.get(`${kind}:${gram}`);
      return hit !== undefined && hit.until > now ? hit.n : undefined;
    });
    const missing = grams.filter((_, i) => result[i] === undefined);
    if (missing.length === 0) return result as number[];
    const fresh = await countGrams(this.db, kind, missing, this.cap);
    missing.forEach((gram, i) => {
      const n = fresh[i]!;
      result[grams.indexOf(gram)] = n;
      if (n > 0) setBounded(this.counts, `${kind}:${gram}`, { n, until: now + TTL_MS }, CAPACITY);
    });
    return result as number[];
  }
}
