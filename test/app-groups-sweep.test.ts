import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { RedisAppGroups } from '../src/modules/apps/app-groups.redis.js';

const redisUrl = inject('redisUrl');

/**
 * Nodes that died while no node was live to clear them (the whole cluster stopped) leave their
 * entries in Redis; a live node sweeps them now and then. The sweep reads the set of nodes with
 * entries: it scanned the whole keyspace every 30 s on every node before (a SCAN per 200 keys of
 * everything in Redis: 0.3 SCANs a message on the 50,000-user workers bench). Only the start
 * still scans, for entries written before that set existed.
 */
describe.runIf(redisUrl)('realtime gateway apps in Redis: dead nodes nobody cleared', () => {
  const clients: Redis[] = [];
  const client = () => clients[clients.push(new Redis(redisUrl!)) - 1]!;
  afterAll(() => {
    for (const c of clients) c.disconnect();
  });

  /** A connection of `node` in group `room` of app `app`, written as a node writes it (index entry included). */
  async function plant(redis: Redis, prefix: string, node: string, clientId: string): Promise<void> {
    await redis.multi()
      .sadd(`${prefix}:app:app1:g:room`, clientId)
      .hincrby(`${prefix}:app:app1:gn:room`, node, 1)
      .sadd(`${prefix}:app:app1:groups`, 'room')
      .sadd(`${prefix}:appnode:${node}`, JSON.stringify(['g', 'app1', 'room', clientId]))
      .exec();
  }

  it('a node in the set is swept by the periodic check without a SCAN; one from before the set, by the scan at start', async () => {
    const prefix = `sweep${Date.now()}`;
    const redis = client();
    const live = new Set(['me']);
    const discovery = { isLive: (n: string) => live.has(n), isRegistered: async (n: string) => live.has(n), onNodeGone: () => {}, onRejoined: () => {} };
    // Left by a node of a version without the set: only its index says it had entries.
    await plant(redis, prefix, 'old', 'c-old');
    const groups = new RedisAppGroups(redis, prefix, discovery, pino({ level: 'silent' }), 50);
    await groups.start('me', { all: () => [], get: () => undefined });
    await expect.poll(() => redis.exists(`${prefix}:appnode:old`), { timeout: 10_000, interval: 50 }).toBe(0);

    // From now on, every command that names this test's keys.
    const seen: string[] = [];
    const monitor = await client().monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(prefix))) seen.push(args[0]!.toLowerCase());
    });
    await new Promise((r) => setTimeout(r, 100));
    await plant(redis, prefix, 'ghost', 'c-ghost');
    await redis.sadd(`${prefix}:appnodes`, 'ghost');
    // A sweep every 30 checks of 50 ms.
    await expect.poll(() => redis.exists(`${prefix}:appnode:ghost`), { timeout: 10_000, interval: 50 }).toBe(0);
    expect(await redis.smembers(`${prefix}:app:app1:g:room`)).toEqual([]);
    expect(await redis.hkeys(`${prefix}:app:app1:gn:room`)).toEqual([]);
    expect(seen).not.toContain('scan');
    expect(await redis.smembers(`${prefix}:appnodes`)).toEqual(['me']);
    expect(seen).toContain('smembers');
    await groups.close();
    monitor.disconnect();
  });
});
