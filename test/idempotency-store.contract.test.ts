import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type IdempotencyStore, MemoryIdempotencyStore } from '../src/cluster/idempotency.js';
import { RedisIdempotencyStore } from '../src/cluster/idempotency.redis.js';
import { AppError } from '../src/errors.js';

const redisUrl = inject('redisUrl');
if (!redisUrl) console.warn('!!! idempotency-store contract needs Redis: the Redis cases are SKIPPED (CI would fail instead)');
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) await c.quit();
});

const day = { ttlSeconds: 86_400, leaseMs: 30_000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Maker = () => IdempotencyStore[];
const implementations: Array<[string, Maker | undefined]> = [
  ['memory', () => {
    const one = new MemoryIdempotencyStore();
    return [one, one];
  }],
  // Two nodes on one Redis: what one claims or stores, the other sees.
  ['redis', redisUrl ? () => {
    const prefix = `weim-i-${randomBytes(4).toString('hex')}`;
    return [0, 1].map(() => {
      const client = new Redis(redisUrl);
      clients.push(client);
      return new RedisIdempotencyStore(client, prefix);
    });
  } : undefined],
];

describe.each(implementations)('idempotency-store contract: %s', (_name, make) => {
  it.runIf(make)('a new key is claimed once across the cluster; while it runs a retry is told so, and another fingerprint is a mismatch', async () => {
    const [here, there] = make!();
    const first = await here!.begin('shop:k1', 'fp-a', day);
    expect(first).toEqual({ kind: 'started', op: expect.any(String), token: expect.any(String), resumed: false });
    expect(await there!.begin('shop:k1', 'fp-a', day)).toEqual({ kind: 'running' });
    expect(await there!.begin('shop:k1', 'fp-b', day)).toEqual({ kind: 'mismatch' });
    expect(await there!.begin('crm:k1', 'fp-b', day)).toMatchObject({ kind: 'started', resumed: false });
  });

  it.runIf(make)('a completed key gives its answer, on every node, to the same fingerprint only', async () => {
    const [here, there] = make!();
    const first = await here!.begin('k2', 'fp', day);
    if (first.kind !== 'started') throw new Error('not started');
    const answer = { status: 200, body: '{"code":0,"msg":"ok","data":{"pushed":[1,2]},"x":"é, 已发货"}' };
    await here!.complete('k2', first.token, answer);
    expect(await there!.begin('k2', 'fp', day)).toEqual({ kind: 'done', answer });
    expect(await here!.begin('k2', 'fp', day)).toEqual({ kind: 'done', answer });
    expect(await there!.begin('k2', 'other', day)).toEqual({ kind: 'mismatch' });
  });

  it.runIf(make)('a failed attempt is resumed by the next, with the same op; the old token no longer holds the key', async () => {
    const [here, there] = make!();
    const first = await here!.begin('k3', 'fp', day);
    if (first.kind !== 'started') throw new Error('not started');
    await here!.fail('k3', first.token);
    const retry = await there!.begin('k3', 'fp', day);
    expect(retry).toEqual({ kind: 'started', op: first.op, token: expect.any(String), resumed: true });
    if (retry.kind !== 'started') throw new Error('not started');
    expect(retry.token).not.toBe(first.token);
    expect(await here!.begin('k3', 'fp', day)).toEqual({ kind: 'running' });
    await here!.complete('k3', first.token, { status: 200, body: 'stale' });
    expect(await here!.renew('k3', first.token, 30_000)).toBe(false);
    await there!.complete('k3', retry.token, { status: 200, body: 'fresh' });
    expect(await here!.begin('k3', 'fp', day)).toEqual({ kind: 'done', answer: { status: 200, body: 'fresh' } });
  });

  it.runIf(make)('a running attempt whose lease runs out (its node died) is resumed; one that renews it is not', async () => {
    const [here, there] = make!();
    const short = { ttlSeconds: 60, leaseMs: 300 };
    const dead = await here!.begin('k4', 'fp', short);
    const alive = await here!.begin('k5', 'fp', short);
    if (dead.kind !== 'started' || alive.kind !== 'started') throw new Error('not started');
    await sleep(200);
    expect(await here!.renew('k5', alive.token, 300)).toBe(true);
    await sleep(200);
    expect(await there!.begin('k4', 'fp', short)).toEqual({ kind: 'started', op: dead.op, token: expect.any(String), resumed: true });
    expect(await there!.begin('k5', 'fp', short)).toEqual({ kind: 'running' });
  });

  it.runIf(make)('a key is kept for its time from its first use, then forgotten', async () => {
    const [here, there] = make!();
    const first = await here!.begin('k7', 'fp', { ttlSeconds: 1, leaseMs: 30_000 });
    if (first.kind !== 'started') throw new Error('not started');
    await here!.complete('k7', first.token, { status: 200, body: 'x' });
    expect(await there!.begin('k7', 'fp', day)).toMatchObject({ kind: 'done' });
    await sleep(1100);
    expect(await there!.begin('k7', 'fp', day)).toMatchObject({ kind: 'started', resumed: false });
  });
});

describe('idempotency-store: memory bound', () => {
  it('past its bound a new key is refused (RATE_LIMITED) rather than forgetting one early; expired keys make room', async () => {
    let now = 0;
    const store = new MemoryIdempotencyStore(1000, () => now);
    const first = await store.begin('a', 'fp', { ttlSeconds: 10, leaseMs: 1000 });
    if (first.kind !== 'started') throw new Error('not started');
    await store.complete('a', first.token, { status: 200, body: 'x'.repeat(600) });
    await expect(store.begin('b', 'fp', { ttlSeconds: 10, leaseMs: 1000 })).rejects.toBeInstanceOf(AppError);
    expect(await store.begin('a', 'fp', { ttlSeconds: 10, leaseMs: 1000 })).toMatchObject({ kind: 'done' });
    now = 10_000;
    expect(await store.begin('b', 'fp', { ttlSeconds: 10, leaseMs: 1000 })).toMatchObject({ kind: 'started' });
    expect(store.size).toBeLessThan(1000);
  });
});
