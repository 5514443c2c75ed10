import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { AppError } from '../src/errors.js';
import { createRateLimiter, type RateLimitStore } from '../src/http/rate-limiter.js';

const redisUrl = inject('redisUrl');
const clients: Redis[] = [];
const stores: Array<[string, () => RateLimitStore]> = [['memory', () => ({ kind: 'memory' })]];
if (redisUrl) {
  stores.push(['redis', () => {
    const client = new Redis(redisUrl);
    clients.push(client);
    return { kind: 'redis', client };
  }]);
} else {
  console.warn('!!! Redis unavailable: the Redis rate limiter is not tested in this run (CI would fail instead)');
}

afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
});

describe.each(stores)('rate limiter on %s', (_name, makeStore) => {
  const limit = () => ({ name: `t-${randomBytes(4).toString('hex')}`, points: 3, windowSeconds: 60 });

  it('allows up to the limit, then refuses with a retry time', async () => {
    const limiter = createRateLimiter(makeStore(), limit());
    for (let i = 0; i < 3; i++) await limiter.consume('alice');
    const refused = await limiter.consume('alice').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).reason).toBe('rate_limited');
    expect((refused as AppError).retryAfterSeconds).toBeGreaterThan(0);
    expect((refused as AppError).retryAfterSeconds).toBeLessThanOrEqual(60);
    await limiter.consume('bob');
  });

  it('reset forgets the count', async () => {
    const limiter = createRateLimiter(makeStore(), limit());
    for (let i = 0; i < 3; i++) await limiter.consume('carol');
    await limiter.reset('carol');
    await limiter.consume('carol');
  });

  it('counts concurrent attempts exactly', async () => {
    const limiter = createRateLimiter(makeStore(), { ...limit(), points: 10 });
    const results = await Promise.allSettled(Array.from({ length: 25 }, () => limiter.consume('dave')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
  });
});

describe.runIf(redisUrl)('rate limiter on redis, shared by two nodes', () => {
  it('two limiters on one Redis share one count (a cluster-wide limit)', async () => {
    const name = `shared-${randomBytes(4).toString('hex')}`;
    const a = createRateLimiter({ kind: 'redis', client: (clients[clients.push(new Redis(redisUrl!)) - 1])! }, { name, points: 2, windowSeconds: 60 });
    const b = createRateLimiter({ kind: 'redis', client: (clients[clients.push(new Redis(redisUrl!)) - 1])! }, { name, points: 2, windowSeconds: 60 });
    await a.consume('erin');
    await b.consume('erin');
    await expect(a.consume('erin')).rejects.toMatchObject({ reason: 'rate_limited' });
  });
});

describe('rate limiter on Redis, while Redis is out of reach', () => {
  it('still answers, and still limits, counting in this process (no error reaches the caller)', async () => {
    // A port nothing listens on: every command fails at once.
    const client = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    const limiter = createRateLimiter({ kind: 'redis', client }, { name: 'down', points: 2, windowSeconds: 60 });
    await limiter.consume('bob');
    await limiter.consume('bob');
    const refused = await limiter.consume('bob').catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).reason).toBe('rate_limited');
    client.disconnect();
  });
});
