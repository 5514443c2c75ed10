import type { Redis } from 'ioredis';
import { setBounded } from '../bounded-map.js';

/** Remembers keys for a while, cluster-wide: `claim` is true only the first time a key is seen. */
export interface OnceStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
}

/** This node's memory (single node). Holds at most `capacity` keys; the oldest go first. */
export class MemoryOnceStore implements OnceStore {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly capacity = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = this.clock();
    const expiry = this.until.get(key);
    if (expiry !== undefined && expiry > now) return false;
    setBounded(this.until, key, now + ttlSeconds * 1000, this.capacity);
    return true;
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
}
