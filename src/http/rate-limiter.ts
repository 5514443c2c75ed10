import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { AppError } from '../errors.js';

/** Counts attempts per key in a fixed window; throws RATE_LIMITED (with Retry-After) past the cap. */
export interface RateLimiter {
  /** Counts one attempt for `key`; throws AppError('RATE_LIMITED') when over the limit. */
  consume(key: string): Promise<void>;
  /** Forgets the attempts counted for `key` (e.g. after a successful login). */
  reset(key: string): Promise<void>;
}

export interface RateLimit {
  /** Distinguishes limiters sharing a store. */
  name: string;
  points: number;
  windowSeconds: number;
}

/** Where counters live: this process (single node) or Redis (shared by a cluster, under its key prefix). */
export type RateLimitStore = { kind: 'memory' } | { kind: 'redis'; client: Redis; prefix?: string };

export function createRateLimiter(store: RateLimitStore, limit: RateLimit): RateLimiter {
  const prefix = store.kind === 'redis' ? (store.prefix ?? 'weim') : 'weim';
  const options = { keyPrefix: `${prefix}:rl:${limit.name}`, points: limit.points, duration: limit.windowSeconds };
  let impl: RateLimiterAbstract;
  switch (store.kind) {
    case 'memory':
      impl = new RateLimiterMemory(options);
      break;
    case 'redis':
      // While Redis is out of reach the limit counts in this process (rate-limiter-flexible's
      // insurance limiter), so a Redis outage neither refuses requests nor lifts the limit.
      impl = new RateLimiterRedis({ ...options, storeClient: store.client, useRedisPackage: false, insuranceLimiter: new RateLimiterMemory(options) });
      break;
    default:
      throw new Error(`unknown rate-limit store ${(store satisfies never as { kind: string }).kind}`);
  }
  return {
    async consume(key) {
      try {
        await impl.consume(key);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          throw new AppError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) });
        }
        throw err;
      }
    },
    async reset(key) {
      await impl.delete(key);
    },
  };
}
