import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { clusterClients } from './helpers/cluster-clients.js';
import { MemorySocketCounts, type SocketCounts } from '../src/cluster/socket-counts.js';
import { RedisSocketCounts } from '../src/cluster/socket-counts.redis.js';
import { waitUntil } from './helpers/wait.js';

const log = pino({ level: 'silent' });
const redisUrl = inject('redisUrl');
const etcdUrl = inject('etcdUrl');
if (!redisUrl || !etcdUrl) console.warn('!!! socket-counts contract needs Redis and etcd: the Redis cases are SKIPPED (CI would fail instead)');

const { opened, redisClient, discovery } = clusterClients();


/** Two nodes' counts on one Redis and etcd, started, with what they run on. */
async function redisPair(checkMs = 1000) {
  const keys = `weim-s-${randomBytes(4).toString('hex')}`;
  const [d1, d2] = [await discovery('a', keys), await discovery('b', keys)];
  await waitUntil(() => d1.isLive('b') && d2.isLive('a'));
  const redis = redisClient();
  const a = new RedisSocketCounts('a', redisClient(), d1, log, keys, checkMs);
  const b = new RedisSocketCounts('b', redisClient(), d2, log, keys, checkMs);
  await a.start();
  await b.start();
  opened.push(a, b);
  return { a, b, d1, d2, redis, keys };
}

type Maker = () => Promise<SocketCounts[]>;
const implementations: Array<[string, Maker | undefined]> = [
  ['memory', async () => {
    const one = new MemorySocketCounts();
    return [one, one];
  }],
  ['redis', redisUrl && etcdUrl ? async () => {
    const { a, b } = await redisPair();
    return [a, b];
  } : undefined],
];

describe.each(implementations)('socket-counts contract: %s', (_name, make) => {
  it.runIf(make)('a key counts the sockets of every node against its cap; a refused socket counts nothing; a release makes room', async () => {
    const [here, there] = await make!();
    expect(await here!.acquire('ip:1.2.3.4', 3)).toBe(true);
    expect(await here!.acquire('ip:1.2.3.4', 3)).toBe(true);
    expect(await there!.acquire('ip:1.2.3.4', 3)).toBe(true);
    expect(await there!.acquire('ip:1.2.3.4', 3)).toBe(false);
    expect(await here!.acquire('ip:1.2.3.4', 3)).toBe(false);
    expect(await here!.acquire('ip:5.6.7.8', 3)).toBe(true);
    expect(here!.localCount('ip:1.2.3.4') + (here === there ? 0 : there!.localCount('ip:1.2.3.4'))).toBe(3);
    await here!.release('ip:1.2.3.4');
    expect(await there!.acquire('ip:1.2.3.4', 3)).toBe(true);
    expect(await here!.acquire('ip:1.2.3.4', 3)).toBe(false);
  });

  it.runIf(make)('concurrent acquires never pass the cap', async () => {
    const [here, there] = await make!();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? here! : there!).acquire('user:7', 5)));
    expect(results.filter(Boolean)).toHaveLength(5);
  });
});

describe.runIf(redisUrl && etcdUrl)('Redis socket counts', () => {
  it('a node that dies stops counting once it is not live, and its hash, no longer refreshed, expires by itself', async () => {
    const { a, b, d1, d2, redis, keys } = await redisPair();
    expect(await b.acquire('ip:9.9.9.9', 2)).toBe(true);
    expect(await b.acquire('ip:9.9.9.9', 2)).toBe(true);
    expect(await a.acquire('ip:9.9.9.9', 2)).toBe(false);
    // b's process dies: nothing clears its hash, it only stops being live.
    await d2.close();
    await waitUntil(() => !d1.isLive('b'));
    expect(await a.acquire('ip:9.9.9.9', 2)).toBe(true);
    expect(await redis.hget(`${keys}:sockets:b`, 'ip:9.9.9.9')).toBe('2');
    const ttl = await redis.pttl(`${keys}:sockets:b`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('a node\'s counts lost from Redis (restarted empty) are written again within a check', async () => {
    const { a, b, redis, keys } = await redisPair(100);
    expect(await a.acquire('user:3', 2)).toBe(true);
    expect(await a.acquire('user:3', 2)).toBe(true);
    await redis.del(`${keys}:sockets:a`);
    await waitUntil(async () => (await redis.hget(`${keys}:sockets:a`, 'user:3')) === '2', 2000);
    expect(await b.acquire('user:3', 2)).toBe(false);
  });

  it('the releases of one turn are written together: one HDEL for the keys at zero, one HSET for the rest', async () => {
    const { a, redis, keys } = await redisPair();
    for (const key of ['ip:1', 'ip:2', 'user:1', 'user:1', 'user:2']) expect(await a.acquire(key, 5)).toBe(true);
    const writes: string[][] = [];
    const monitor = await redisClient().monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[1] === `${keys}:sockets:a` && /^h(set|del)$/i.test(args[0]!)) writes.push(args.map((arg, i) => (i === 0 ? arg.toLowerCase() : arg)));
    });
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all(['ip:1', 'ip:2', 'user:1', 'user:2'].map((key) => a.release(key)));
    expect(await redis.hgetall(`${keys}:sockets:a`)).toEqual({ 'user:1': '1' });
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toEqual([['hdel', `${keys}:sockets:a`, 'ip:1', 'ip:2', 'user:2'], ['hset', `${keys}:sockets:a`, 'user:1', '1']]);
    monitor.disconnect();
  });

  it('a node starting under the id of an earlier run clears what that run left', async () => {
    const { keys, redis, d1 } = await redisPair();
    await redis.hset(`${keys}:sockets:a`, 'ip:1.1.1.1', 50);
    const again = new RedisSocketCounts('a', redisClient(), d1, log, keys);
    await again.start();
    opened.push(again);
    expect(await redis.exists(`${keys}:sockets:a`)).toBe(0);
    expect(await again.acquire('ip:1.1.1.1', 1)).toBe(true);
  });
});
