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

/**
 * A per-message limit in a cluster (`lease`): a node adds up to `lease` to the shared count in one
 * command and spends the points itself. The count in Redis shows what each node took.
 */
describe.runIf(redisUrl)('rate limiter on redis with a lease (per-message limits in a cluster)', () => {
  const node = () => ({ kind: 'redis' as const, client: clients[clients.push(new Redis(redisUrl!)) - 1]! });
  const count = async (name: string, key: string) => Number(await clients[0]!.get(`weim:rl:${name}:${key}`));
  const limit = (points: number, lease: number, windowSeconds = 60) => ({ name: `lease-${randomBytes(4).toString('hex')}`, points, windowSeconds, lease });

  it('takes a lease in one command, spends it without Redis, asks for only what is left near the limit, then refuses without asking', async () => {
    const l = limit(25, 10);
    const a = createRateLimiter(node(), l);
    await a.consume('u');
    expect(await count(l.name, 'u')).toBe(10);
    for (let i = 1; i < 10; i++) await a.consume('u');
    expect(await count(l.name, 'u')).toBe(10);
    await a.consume('u');
    expect(await count(l.name, 'u')).toBe(20);
    for (let i = 11; i < 20; i++) await a.consume('u');
    // 20 spent: 5 are left, so the next lease asks for 5.
    await a.consume('u');
    expect(await count(l.name, 'u')).toBe(25);
    for (let i = 21; i < 25; i++) await a.consume('u');
    await expect(a.consume('u')).rejects.toMatchObject({ reason: 'rate_limited' });
    await expect(a.consume('u')).rejects.toMatchObject({ reason: 'rate_limited' });
    // Refused from what the node knows: the count is not touched again this window.
    expect(await count(l.name, 'u')).toBe(25);
  });

  it('concurrent attempts on one node: exactly the limit passes', async () => {
    const a = createRateLimiter(node(), limit(100, 10));
    const results = await Promise.allSettled(Array.from({ length: 150 }, () => a.consume('v')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(100);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.reason === 'rate_limited')).toBe(true);
  });

  it('two nodes racing never pass more than the limit together, and at most a lease short per node', async () => {
    const l = limit(100, 10);
    const a = createRateLimiter(node(), l);
    const b = createRateLimiter(node(), l);
    const results = await Promise.allSettled(Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).consume('w')));
    const passed = results.filter((r) => r.status === 'fulfilled').length;
    expect(passed).toBeLessThanOrEqual(100);
    expect(passed).toBeGreaterThanOrEqual(100 - 2 * 9);
  });

  it('a lease ends with its window: the next window starts a new count', async () => {
    const l = limit(3, 2, 1);
    const a = createRateLimiter(node(), l);
    for (let i = 0; i < 3; i++) await a.consume('x');
    await expect(a.consume('x')).rejects.toMatchObject({ reason: 'rate_limited' });
    await new Promise((r) => setTimeout(r, 1100));
    await a.consume('x');
    expect(await count(l.name, 'x')).toBe(2);
  });
});

describe('rate limiter on Redis with a lease, while Redis is out of reach', () => {
  it('still limits, exactly, counting in this process', async () => {
    const client = new Redis({ port: 1, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    client.on('error', () => {});
    const limiter = createRateLimiter({ kind: 'redis', client }, { name: 'down-lease', points: 25, windowSeconds: 60, lease: 10 });
    for (let i = 0; i < 25; i++) await limiter.consume('bob');
    await expect(limiter.consume('bob')).rejects.toMatchObject({ reason: 'rate_limited' });
    client.disconnect();
  });
});
