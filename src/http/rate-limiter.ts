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
  /**
   * Redis store: take up to this many points from the shared count at once and spend them here
   * (`LeasedLimiter`), so most attempts cost no Redis command. For limits counted on every
   * message; leave unset (1) for small limits such as logins.
   */
  lease?: number;
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
  if (store.kind === 'redis' && (limit.lease ?? 1) > 1) return new LeasedLimiter(impl, limit.points, limit.lease!);
  return {
    async consume(key) {
      try {
        await impl.consume(key);
      } catch (err) {
        throw refusal(err);
      }
    },
    async reset(key) {
      await impl.delete(key);
    },
  };
}

/** RATE_LIMITED with Retry-After for rate-limiter-flexible's refusal; any other error as it is. */
function refusal(err: unknown): unknown {
  if (!(err instanceof RateLimiterRes)) return err;
  return new AppError('rate_limited', undefined, { retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) });
}

/** Points this node holds for a key until its window ends; `pending` while it asks for more. */
interface Lease {
  left: number;
  until: number;
  /** The shared count after this node's last lease. */
  counted: number;
  pending?: Promise<void>;
}

/** Keys whose leases are kept at most (the oldest are dropped first; their points are lost, never added). */
const MAX_LEASES = 100_000;

/**
 * A shared (Redis) limit that asks Redis once per `size` attempts instead of once per attempt: it
 * adds up to `size` to the key's count in one command and spends what it got in this process
 * until the window the count belongs to ends. Exact on the safe side: an increment of n reserves
 * the positions (count − n, count], and only those ≤ `points` are granted, so the nodes together
 * never allow more than `points` a window, however they race; points leased by one node and not
 * spent there are lost for the window (a user sending through two nodes may be refused up to
 * `size − 1` attempts early per node). Near the limit it asks for what is left, one at a time.
 * While Redis is out of reach, rate-limiter-flexible's insurance limiter counts in this process.
 */
class LeasedLimiter implements RateLimiter {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly impl: RateLimiterAbstract,
    private readonly points: number,
    private readonly size: number,
  ) {}

  async consume(key: string): Promise<void> {
    for (;;) {
      const lease = this.leases.get(key);
      if (lease && Date.now() < lease.until) {
        if (lease.left > 0) {
          lease.left--;
          return;
        }
        if (lease.pending) {
          await lease.pending;
          continue;
        }
        // The shared count reached the limit this window: nothing is given back before it ends.
        if (lease.counted >= this.points) throw refusal(new RateLimiterRes(0, lease.until - Date.now(), lease.counted));
      }
      await this.take(key, lease);
    }
  }

  async reset(key: string): Promise<void> {
    this.leases.delete(key);
    await this.impl.delete(key);
  }

  /** Adds to the shared count and keeps what it granted; throws RATE_LIMITED when it granted none. */
  private async take(key: string, previous: Lease | undefined): Promise<void> {
    // The last answer's count (this window's) says how close the key is to its limit: ask for no
    // more than was left then (others may have taken some since: the grant below allows for that).
    const known = previous && previous.until > Date.now() ? previous.counted : 0;
    const size = Math.max(1, Math.min(this.size, this.points - known));
    const lease: Lease = { left: 0, until: Number.POSITIVE_INFINITY, counted: known };
    let settle!: () => void;
    lease.pending = new Promise((resolve) => (settle = resolve));
    this.leases.delete(key);
    this.leases.set(key, lease);
    if (this.leases.size > MAX_LEASES) this.leases.delete(this.leases.keys().next().value!);
    let res: RateLimiterRes;
    try {
      res = await this.impl.consume(key, size);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        lease.until = 0;
        throw err;
      }
      res = err;
    } finally {
      lease.pending = undefined;
      settle();
    }
    const granted = Math.max(0, Math.min(size, this.points - (res.consumedPoints - size)));
    lease.until = Date.now() + res.msBeforeNext;
    lease.counted = res.consumedPoints;
    if (granted === 0) throw refusal(res);
    // The caller's loop spends one of them on this attempt.
    lease.left = granted;
  }
}
