import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { clusterClients } from './helpers/cluster-clients.js';
import type { Batch } from '../src/cluster/bus.js';
import { RedisBus } from '../src/cluster/bus.redis.js';
import { RedisDirectory } from '../src/cluster/directory.redis.js';
import { RedisRelay } from '../src/cluster/relay.redis.js';
import { waitUntil } from './helpers/wait.js';

const log = pino({ level: 'silent' });
const { redisUrl, etcdUrl, opened, redisClient, discovery } = clusterClients();


/** Nodes a and b live (a relays), z dead; 7 on a, 8 on b, 9 on both, 10 only on z. */
async function rig(relayClient?: Redis) {
  const keys = `weim-relay-${randomBytes(4).toString('hex')}`;
  const [da, db] = [await discovery('a', keys), await discovery('b', keys)];
  await waitUntil(() => da.isLive('b') && db.isLive('a'));
  const [a, b] = [new RedisDirectory('a', redisClient(), da, log, keys), new RedisDirectory('b', redisClient(), db, log, keys)];
  for (const [d, id] of [[a, 7], [b, 8], [a, 9], [b, 9]] as const) await d.register(id);
  const admin = redisClient();
  await admin.sadd(`${keys}:u:10`, 'z');
  const busA = new RedisBus('a', redisClient(), redisClient(), log, keys);
  const busB = new RedisBus('b', redisClient(), redisClient(), log, keys);
  const atB: Batch[] = [];
  await busA.subscribe(() => {});
  await busB.subscribe((batch) => atB.push(batch));
  const resyncsAtB: number[] = [];
  await busB.onEvent(() => {});
  busB.onResync(() => resyncsAtB.push(Date.now()));
  for (const bus of [busA, busB]) opened.push(bus);
  const relay = new RedisRelay('a', relayClient ?? redisClient(), da, () => busA.publishFailed(), keys);
  return { keys, admin, relay, atB, resyncsAtB, da, db };
}

const frame = (n: number): Batch => ({ userIds: [], payload: `{"Cmd":6,"n":${n}}` });

describe.runIf(redisUrl && etcdUrl)('the relay (Redis): a frame for a few users looked up and published in one step', () => {
  it('publishes each batch to the other live nodes holding its users, in order, in one call a turn, and says whether this node holds one', async () => {
    const { admin, relay, atB } = await rig();
    const calls: string[] = [];
    const monitor = await redisClient().monitor();
    monitor.on('monitor', (_time: string, args: string[]) => calls.push(args[0]!.toLowerCase()));
    await new Promise((r) => setTimeout(r, 50));
    const sent: Batch[] = [
      { ...frame(1), userIds: [7, 8], except: { connectionId: 'c-7', jti: 'j-7' }, stream: { key: 'c1', seq: 1 } },
      { ...frame(2), userIds: [8] },
      { ...frame(3), userIds: [10] },
      { ...frame(4), userIds: [11, 12] },
      { ...frame(5), userIds: [7] },
      { ...frame(6), userIds: [9], feature: 'reactions' },
      { ...frame(7), userIds: [8, 7], stream: { key: 'c1', seq: 2 } },
    ];
    // One turn: every batch joins one call.
    const here = await Promise.all(sent.map((b) => relay.relay(b)));
    expect(here).toEqual([true, false, false, false, true, true, true]);
    await waitUntil(() => atB.length >= 4);
    await new Promise((r) => setTimeout(r, 100));
    // b gets what it holds a user of, in the order relayed, as it was sent; the dead node z nothing.
    expect(atB.map((b) => b.payload)).toEqual([1, 2, 6, 7].map((n) => frame(n).payload));
    expect(atB[0]).toMatchObject({ userIds: [7, 8], except: { connectionId: 'c-7', jti: 'j-7' }, stream: { key: 'c1', seq: 1 } });
    expect(atB[2]).toMatchObject({ userIds: [9], feature: 'reactions' });
    // One script call from the relay for the seven; the lookups and publishes ran inside it.
    expect(calls.filter((c) => c === 'eval' || c === 'evalsha')).toHaveLength(1);
    expect(calls.filter((c) => c === 'sunion')).toHaveLength(7);
    expect(calls.filter((c) => c === 'publish')).toHaveLength(4);
    monitor.disconnect();
  });

  it('leaves out a node that stops as soon as discovery drops it, before its entries are cleared', async () => {
    const { relay, atB, da, db } = await rig();
    expect(await relay.relay({ ...frame(1), userIds: [7, 8] })).toBe(true);
    await waitUntil(() => atB.length === 1);
    await db.close();
    await waitUntil(() => !da.isLive('b'));
    expect(await relay.relay({ ...frame(2), userIds: [7, 8] })).toBe(true);
    expect(await relay.relay({ ...frame(3), userIds: [8] })).toBe(false);
    await new Promise((r) => setTimeout(r, 100));
    expect(atB.map((b) => b.payload)).toEqual([frame(1).payload]);
  });

  it('works again after Redis forgot its scripts (as after a restart), and refuses an empty or too large batch', async () => {
    const { admin, relay, atB } = await rig();
    expect(await relay.relay({ ...frame(1), userIds: [8] })).toBe(false);
    await admin.script('FLUSH');
    expect(await relay.relay({ ...frame(2), userIds: [7, 8] })).toBe(true);
    await waitUntil(() => atB.length === 2);
    expect(atB.map((b) => b.payload)).toEqual([frame(1).payload, frame(2).payload]);
    await expect(relay.relay({ ...frame(3), userIds: [] })).rejects.toThrow(/1 to/);
    await expect(relay.relay({ ...frame(4), userIds: Array.from({ length: relay.maxUsers + 1 }, (_, i) => i + 1) })).rejects.toThrow(/1 to/);
  });

  it('a call that fails (Redis out of reach) rejects its batches, and the other nodes are told to resync once Redis answers', async () => {
    const client = new Redis(redisUrl!, { enableOfflineQueue: false });
    opened.push({ close: () => client.quit() });
    await new Promise((resolve) => client.once('ready', resolve));
    const { admin, relay, resyncsAtB } = await rig(client);
    expect(await relay.relay({ ...frame(1), userIds: [7] })).toBe(true);
    client.disconnect(true);
    await expect(Promise.all([relay.relay({ ...frame(2), userIds: [8] }), relay.relay({ ...frame(3), userIds: [7, 8] })])).rejects.toThrow();
    expect(resyncsAtB).toEqual([]);
    // The bus's own connection tells the others (pushes-lost) as soon as it can: here at once.
    await waitUntil(() => resyncsAtB.length > 0);
    expect(await admin.ping()).toBe('PONG');
  });
});
