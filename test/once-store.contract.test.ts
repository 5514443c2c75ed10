import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { MemoryOnceStore, type OnceStore, RedisOnceStore } from '../src/cluster/once.js';
import { AppError } from '../src/errors.js';

const redisUrl = inject('redisUrl');
if (!redisUrl) console.warn('!!! once-store contract needs Redis: the Redis cases are SKIPPED (CI would fail instead)');
const clients: Redis[] = [];
afterAll(async () => {
  for (const c of clients) await c.quit();
});

type Maker = () => OnceStore[];
const implementations: Array<[string, Maker | undefined]> = [
  ['memory', () => {
    const one = new MemoryOnceStore();
    return [one, one];
  }],
  // Two nodes on one Redis: a key claimed on one is claimed for the other.
  ['redis', redisUrl ? () => {
    const prefix = `weim-o-${randomBytes(4).toString('hex')}`;
    return [0, 1].map(() => {
      const client = new Redis(redisUrl);
      clients.push(client);
      return new RedisOnceStore(client, prefix);
    });
  } : undefined],
];

describe.each(implementations)('once-store contract: %s', (_name, make) => {
  it.runIf(make)('a key is claimed once across the cluster, until it expires', async () => {
    const [here, there] = make!();
    expect(await here!.claim('n-1', 1)).toBe(true);
    expect(await here!.claim('n-1', 1)).toBe(false);
    expect(await there!.claim('n-1', 1)).toBe(false);
    expect(await there!.claim('n-2', 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await there!.claim('n-1', 1)).toBe(true);
  });

  it.runIf(make)('a released key may be claimed again (what it was claimed for was refused)', async () => {
    const [here, there] = make!();
    expect(await here!.claim('r-1', 60)).toBe(true);
    await here!.release('r-1');
    expect(await there!.claim('r-1', 60)).toBe(true);
    expect(await here!.claim('r-1', 60)).toBe(false);
  });

  it.runIf(make)('a key claimed with an owner is claimed again by that owner only (the same request sent again), on any node', async () => {
    const [here, there] = make!();
    expect(await here!.claim('o-1', 60, 'req-a')).toBe(true);
    expect(await there!.claim('o-1', 60, 'req-a')).toBe(true);
    expect(await there!.claim('o-1', 60, 'req-b')).toBe(false);
    expect(await here!.claim('o-1', 60)).toBe(false);
    expect(await here!.claim('o-2', 60)).toBe(true);
    expect(await there!.claim('o-2', 60, '1')).toBe(false);
    expect(await there!.claim('o-2', 60, 'req-a')).toBe(false);
  });
});

describe('once-store: memory capacity', () => {
  it('past its capacity of live keys a claim is refused (RATE_LIMITED) rather than forgetting one early', async () => {
    let now = 0;
    const store = new MemoryOnceStore(2, () => now);
    expect(await store.claim('a', 10)).toBe(true);
    expect(await store.claim('b', 10)).toBe(true);
    await expect(store.claim('c', 10)).rejects.toBeInstanceOf(AppError);
    expect(await store.claim('a', 10)).toBe(false);
    now = 11_000;
    expect(await store.claim('c', 10)).toBe(true);
  });
});
