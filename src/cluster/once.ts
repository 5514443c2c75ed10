import type { Redis } from 'ioredis';
import { AppError } from '../errors.js';

/** Remembers keys for a while, cluster-wide: `claim` is true only the first time a key is seen. */
export interface OnceStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets a claimed key (what it was claimed for was refused, and may be tried again). */
  release(key: string): Promise<void>;
}

/**
 * This node's memory (single node). Keys are kept for their whole time: past `capacity` live keys
 * a claim is refused (RATE_LIMITED) rather than forgetting one early, which would let it be used
 * again. All keys of a store live equally long, so the oldest entry expires first.
 */
export class MemoryOnceStore implements OnceStore {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly capacity = 1_000_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.clock();
    for (const [oldest, expiry] of this.until) {
      if (expiry > now) break;
      this.until.delete(oldest);
    }
    if (this.until.has(key)) return false;
    if (this.until.size >= this.capacity) throw new AppError('RATE_LIMITED', 'too many requests in flight, retry later', { retryAfterSeconds: 1 });
    this.until.set(key, now + ttlSeconds * 1000);
    return true;
  }

  async release(key: string): Promise<void> {
    this.until.delete(key);
  }
}

/** Redis: SET NX with an expiry, so every node of a cluster sees a key claimed on any of them. */
export class RedisOnceStore implements OnceStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:once:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  async release(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}:once:${key}`);
  }
}
