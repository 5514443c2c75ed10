import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

/**
 * Remembers keys for a while, cluster-wide: `claim` is true only the first time a key is seen,
 * or, for a key first claimed with an `owner`, each time the same owner claims it again (the
 * same request sent again: the push API lets a retry carrying the same Idempotency-Key through).
 */
export interface OnceStore {
  claim(key: string, ttlSeconds: number, owner?: string): Promise<boolean>;
  /** Forgets a claimed key (what it was claimed for was refused, and may be tried again). */
  release(key: string): Promise<void>;
}

/**
 * This node's memory (single node). Keys are kept for their whole time: past `capacity` live keys
 * a claim is refused (RATE_LIMITED) rather than forgetting one early, which would let it be used
 * again. All keys of a store live equally long, so the oldest entry expires first.
 */
export class MemoryOnceStore implements OnceStore {
  private readonly until = new Map<string, { expiry: number; owner: string | undefined }>();

  constructor(
    private readonly capacity = 1_000_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async claim(key: string, ttlSeconds: number, owner?: string): Promise<boolean> {
    const now = this.clock();
    for (const [oldest, { expiry }] of this.until) {
      if (expiry > now) break;
      this.until.delete(oldest);
    }
    const held = this.until.get(key);
    if (held) return owner !== undefined && held.owner === owner;
    if (this.until.size >= this.capacity) throw new AppError('too_many_in_flight', undefined, { retryAfterSeconds: 1 });
    this.until.set(key, { expiry: now + ttlSeconds * 1000, owner });
    return true;
  }

  async release(key: string): Promise<void> {
    this.until.delete(key);
  }
}

/** KEYS: the key. ARGV: owner, ttl seconds. 1 when the key is new or already held by this owner. */
const CLAIM_FOR = `if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0`;

/** Redis: SET NX with an expiry, so every node of a cluster sees a key claimed on any of them. */
export class RedisOnceStore implements OnceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, ttlSeconds: number, owner?: string): Promise<boolean> {
    if (owner !== undefined) return (await this.redis.eval(CLAIM_FOR, 1, `${this.prefix}:once:${key}`, `=${owner}`, ttlSeconds)) === 1;
    return (await this.redis.set(`${this.prefix}:once:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}:once:${key}`);
  }
}
