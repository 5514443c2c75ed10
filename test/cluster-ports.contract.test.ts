import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { clusterClients } from './helpers/cluster-clients.js';
import type { Batch, Bus, ClusterEvent } from '../src/cluster/bus.js';
import { MemoryBus } from '../src/cluster/bus.memory.js';
import { RedisBus } from '../src/cluster/bus.redis.js';
import type { Directory } from '../src/cluster/directory.js';
import { MemoryDirectory } from '../src/cluster/directory.memory.js';
import { RedisDirectory } from '../src/cluster/directory.redis.js';
import { waitUntil } from './helpers/wait.js';

const log = pino({ level: 'silent' });
const redisUrl = inject('redisUrl');
const etcdUrl = inject('etcdUrl');
const prefix = () => `weim-c-${randomBytes(4).toString('hex')}`;

const { opened, redisClient, discovery } = clusterClients();

/** The id Redis knows `client`'s connection by (for CLIENT KILL). */
async function clientId(admin: Redis, client: Redis): Promise<string> {
  const name = `test-${randomBytes(4).toString('hex')}`;
  await client.client('SETNAME', name);
  const line = ((await admin.client('LIST')) as string).split('\n').find((l) => l.includes(` name=${name} `));
  return line!.match(/^id=(\d+)/)![1]!;
}

/** A connected client without an offline queue: a command while it is disconnected fails at once instead of waiting. */
async function failFastClient(): Promise<Redis> {
  const client = new Redis(redisUrl!, { enableOfflineQueue: false });
  opened.push({ close: () => client.quit() });
  await new Promise((resolve) => client.once('ready', resolve));
  return client;
}


type DirectoryMaker = () => Promise<{ here: Directory; nodeId: string }>;
const directories: Array<[string, DirectoryMaker | undefined]> = [
  ['memory', async () => ({ here: new MemoryDirectory('m1'), nodeId: 'm1' })],
  ['redis', redisUrl && etcdUrl ? async () => {
    const keys = prefix();
    const d = new RedisDirectory('r1', redisClient(), await discovery('r1', keys), log, keys);
    await d.start();
    return { here: d, nodeId: 'r1' };
  } : undefined],
];

describe.each(directories)('directory contract: %s', (_name, make) => {
  it.runIf(make)('locates registered users on their node, forgets unregistered ones, answers empty lists', async () => {
    const { here, nodeId } = await make!();
    expect(await here.locate([])).toEqual(new Map());
    await here.register(1);
    await here.register(2);
    await here.register(2);
    expect(await here.locate([1, 2, 3])).toEqual(new Map([[nodeId, [1, 2]]]));
    await here.unregister(1);
    expect(await here.locate([1, 3])).toEqual(new Map());
    expect(await here.locate([2])).toEqual(new Map([[nodeId, [2]]]));
  });

  it.runIf(make)('presence claims: each change is claimed once, online then offline, whoever asks', async () => {
    const { here } = await make!();
    expect(await here.claimPresence(7, false)).toBe(false);
    expect(await here.claimPresence(7, true)).toBe(true);
    expect(await here.claimPresence(7, true)).toBe(false);
    expect(await here.claimPresence(8, true)).toBe(true);
    expect(await here.claimPresence(7, false)).toBe(true);
    expect(await here.claimPresence(7, false)).toBe(false);
    expect(await here.claimPresence(7, true)).toBe(true);
    // Offline is not claimed while a node holds the user (one that registered after a lookup said nobody did).
    await here.register(7);
    expect(await here.claimPresence(7, false)).toBe(false);
    await here.unregister(7);
    expect(await here.claimPresence(7, false)).toBe(true);
  });

  it.runIf(make)('a lookup of many users (a group) finds the registered ones, in the order asked', async () => {
    const { here, nodeId } = await make!();
    const asked = Array.from({ length: 300 }, (_, i) => 1000 + ((i * 7) % 300));
    for (const id of asked.filter((id) => id % 3 !== 0)) await here.register(id);
    expect(await here.locate(asked)).toEqual(new Map([[nodeId, asked.filter((id) => id % 3 !== 0)]]));
  });
});

describe.runIf(redisUrl && etcdUrl)('Redis directory with etcd discovery', () => {
  it('a user on two nodes is located on both; a node that stops is left out at once and its entries cleared', async () => {
    const keys = prefix();
    const redis = redisClient();
    const [d1, d2] = [await discovery('a', keys), await discovery('b', keys)];
    await waitUntil(() => d1.isLive('b') && d2.isLive('a'));
    const [a, b] = [new RedisDirectory('a', redis, d1, log, keys), new RedisDirectory('b', redisClient(), d2, log, keys)];
    await a.start();
    await b.start();
    await a.register(7);
    await b.register(7);
    await b.register(8);
    const both = await a.locate([7, 8]);
    expect(Object.fromEntries(both)).toEqual({ a: [7], b: [7, 8] });
    // The same through the per-node lookup a large group takes.
    const many = [7, 8, ...Array.from({ length: 40 }, (_, i) => 100 + i)];
    expect(Object.fromEntries(await a.locate(many))).toEqual({ a: [7], b: [7, 8] });
    const gone: string[] = [];
    d1.onNodeGone((id) => gone.push(id));
    await d2.close();
    await waitUntil(() => gone.includes('b'));
    expect(Object.fromEntries(await a.locate([7, 8]))).toEqual({ a: [7] });
    for (let i = 0; i < 100 && (await redis.exists(`${keys}:n:b`)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(await redis.exists(`${keys}:n:b`)).toBe(0);
    expect(await redis.smembers(`${keys}:u:7`)).toEqual(['a']);
  });

  it('the users signed in or gone in one turn are written in one transaction each way; one who left and came back in the turn keeps the entry', async () => {
    const keys = prefix();
    const redis = redisClient();
    const d = new RedisDirectory('a', redisClient(), await discovery('a', keys), log, keys);
    await d.start();
    const writes: string[][] = [];
    const monitor = await redisClient().monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (/^s(add|rem)$/i.test(args[0]!) && args[1] === `${keys}:n:a`) writes.push([args[0]!.toLowerCase(), ...args.slice(2)]);
    });
    await new Promise((r) => setTimeout(r, 50));
    await Promise.all([1, 2, 3, 4].map((id) => d.register(id)));
    // One turn: three last sockets close, and user 2 signs in again before the turn ends.
    const done = [d.unregister(1), d.unregister(2), d.unregister(3)];
    done.push(d.register(2));
    await Promise.all(done);
    expect(Object.fromEntries(await d.locate([1, 2, 3, 4]))).toEqual({ a: [2, 4] });
    expect((await redis.smembers(`${keys}:n:a`)).sort()).toEqual(['2', '4']);
    await new Promise((r) => setTimeout(r, 50));
    expect(writes).toEqual([['sadd', '1', '2', '3', '4'], ['sadd', '2'], ['srem', '1', '3']]);
    monitor.disconnect();
  });

  it('a removal that failed while Redis was out of reach is written once it answers, unless the user is back', async () => {
    const keys = prefix();
    const admin = redisClient();
    const client = await failFastClient();
    const here = new Set([7, 8]);
    const d = new RedisDirectory('a', client, await discovery('a', keys), log, keys, 100);
    await d.start({ userIds: () => [...here], has: (id) => here.has(id) });
    await d.register(7);
    await d.register(8);
    const id = await clientId(admin, client);
    const closed = new Promise((resolve) => client.once('close', resolve));
    await admin.client('KILL', 'ID', id);
    await closed;
    // Both users' last sockets close while the node cannot reach Redis; 8 signs in again before it can.
    here.delete(7);
    here.delete(8);
    await d.unregister(7);
    await d.unregister(8);
    here.add(8);
    await expect.poll(async () => Object.fromEntries(await d.locate([7, 8]).catch(() => new Map([['unreachable', []]]))), { timeout: 5000, interval: 50 }).toEqual({ a: [8] });
    expect((await admin.smembers(`${keys}:n:a`)).sort()).toEqual(['8']);
    await d.close();
  });

  it('a node back after losing its lease: not cleared once live again, and it registers its users again only after a clear in progress', async () => {
    const keys = prefix();
    const redis = redisClient();
    const [d1, d2] = [await discovery('c1', keys), await discovery('c2', keys)];
    await waitUntil(() => d1.isLive('c2'));
    const [c1, c2] = [new RedisDirectory('c1', redis, d1, log, keys), new RedisDirectory('c2', redisClient(), d2, log, keys)];
    await c2.register(5);
    // c1 is told c2 was gone, but c2 is live by the time c1 holds the lock: its entries stay.
    await (c1 as unknown as { clearDead(id: string): Promise<void> }).clearDead('c2');
    expect(Object.fromEntries(await c1.locate([5]))).toEqual({ c2: [5] });
    expect(await redis.exists(`${keys}:clear:c2`)).toBe(0);
    // A clear of c2 in progress (its lock held): c2's restore waits for it, then registers.
    await redis.set(`${keys}:clear:c2`, 'c1', 'EX', 30);
    await redis.multi().srem(`${keys}:u:5`, 'c2').del(`${keys}:n:c2`).exec();
    let restored = false;
    const restoring = c2.restore(() => [5]).then(() => (restored = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(restored).toBe(false);
    await redis.del(`${keys}:clear:c2`);
    await restoring;
    expect(Object.fromEntries(await c1.locate([5]))).toEqual({ c2: [5] });
  });

  it('offline is claimed for a user held only by a dead node not cleared yet; a node\'s own earlier run is cleared at start and its users reported lost', async () => {
    const keys = prefix();
    const redis = redisClient();
    const d = new RedisDirectory('s1', redis, await discovery('s1', keys), log, keys);
    await redis.multi().sadd(`${keys}:u:12`, 'ghost').sadd(`${keys}:u:13`, 's1').sadd(`${keys}:n:s1`, '13').exec();
    expect(await d.claimPresence(12, true)).toBe(true);
    expect(await d.claimPresence(12, false)).toBe(true);
    await d.start();
    const lost: number[][] = [];
    d.onUsersLost((ids) => lost.push(ids));
    expect(lost).toEqual([[13]]);
    expect(await redis.smembers(`${keys}:u:13`)).toEqual([]);
  });

  it('entries of nodes that died while no node was live are cleared by the next node to start, and their users reported lost', async () => {
    const keys = prefix();
    const redis = redisClient();
    const [d1, d2] = [await discovery('o1', keys), await discovery('o2', keys)];
    await waitUntil(() => d1.isLive('o2'));
    // o2 is live, with a user; 'gone-1' left entries and is registered nowhere.
    await redis.multi().sadd(`${keys}:u:31`, 'gone-1').sadd(`${keys}:n:gone-1`, '31').sadd(`${keys}:u:32`, 'o2').sadd(`${keys}:n:o2`, '32').exec();
    const o1 = new RedisDirectory('o1', redis, d1, log, keys);
    const lost: number[][] = [];
    o1.onUsersLost((ids) => lost.push(ids));
    await o1.start();
    await waitUntil(() => lost.length > 0);
    expect(lost).toEqual([[31]]);
    expect(await redis.exists(`${keys}:n:gone-1`)).toBe(0);
    expect(Object.fromEntries(await o1.locate([31, 32]))).toEqual({ o2: [32] });
  });

  it('a presence claimed by one node is not claimed again by another', async () => {
    const keys = prefix();
    const [d1, d2] = await Promise.all(['p1', 'p2'].map(async (id) => new RedisDirectory(id, redisClient(), await discovery(id, keys), log, keys)));
    expect(await Promise.all([d1!.claimPresence(5, true), d2!.claimPresence(5, true)])).toEqual(expect.arrayContaining([true, false]));
    expect(await d2!.claimPresence(5, true)).toBe(false);
    expect(await Promise.all([d1!.claimPresence(5, false), d2!.claimPresence(5, false)])).toEqual(expect.arrayContaining([true, false]));
  });

  it('a node restarted under the same id starts with no entries of its earlier run', async () => {
    const keys = prefix();
    const redis = redisClient();
    const first = new RedisDirectory('same', redis, await discovery('other', keys), log, keys);
    await first.register(9);
    const again = new RedisDirectory('same', redis, await discovery('same', keys), log, keys);
    await again.start();
    expect(await again.locate([9])).toEqual(new Map());
  });
});

type BusMaker = () => Promise<{ from: Bus; to: Bus; toId: string; other?: Bus }>;
const buses: Array<[string, BusMaker | undefined]> = [
  ['memory', async () => {
    const bus = new MemoryBus('m1');
    return { from: bus, to: bus, toId: 'm1' };
  }],
  ['redis', redisUrl ? async () => {
    const keys = prefix();
    const publisher = redisClient();
    const make = (id: string) => new RedisBus(id, publisher, redisClient(), log, keys);
    return { from: make('r1'), to: make('r2'), toId: 'r2', other: make('r3') };
  } : undefined],
];

describe.each(buses)('bus contract: %s', (_name, make) => {
  it.runIf(make)('hands a batch to the node it is addressed to, whole, and to no other', async () => {
    const { from, to, toId, other } = await make!();
    const got: Batch[] = [];
    const strays: Batch[] = [];
    await to.subscribe((b) => got.push(b));
    await other?.subscribe((b) => strays.push(b));
    const batch: Batch = { userIds: [1, 2], payload: '{"Cmd":6,"Body":"héllo 👋"}', except: { connectionId: 'x.1', jti: 'j' }, stream: { key: 'c4', seq: 9 } };
    await from.publish(toId, batch);
    await from.publish(toId, { userIds: [3], payload: '{"Cmd":19}' });
    await waitUntil(() => got.length === 2);
    expect(got).toEqual([batch, { userIds: [3], payload: '{"Cmd":19}', except: undefined, stream: undefined }]);
    await new Promise((r) => setTimeout(r, 100));
    expect(strays).toEqual([]);
  });

  const events: ClusterEvent[] = [
    { kind: 'session-ended', userId: 5, jti: 'j-5' },
    { kind: 'friendship-ended', a: 7, b: 8 },
    { kind: 'broadcast', payload: '{"Cmd":25,"Body":"to all"}' },
  ];
  it.runIf(make).each(events)('a cluster event ($kind) reaches every other node, whole, and not its own', async (event) => {
    const { from, to, other } = await make!();
    const heard: Array<[string, ClusterEvent, string]> = [];
    for (const [name, bus] of [['from', from], ['to', to], ['other', other]] as const) {
      if (!bus || (name === 'to' && bus === from)) continue;
      await bus.onEvent((e, node) => heard.push([name, e, node]));
    }
    await from.announce(event);
    await new Promise((r) => setTimeout(r, 150));
    // The memory bus has no other node; on Redis every node but the sender hears it.
    expect(heard.sort()).toEqual(other ? [['other', event, 'r1'], ['to', event, 'r1']] : []);
  });
});

describe.runIf(redisUrl)('Redis bus: what arrives on the cluster channel is checked', () => {
  it('a malformed or unknown event is dropped, and the events after it still arrive', async () => {
    const keys = prefix();
    const to = new RedisBus('r2', redisClient(), redisClient(), log, keys);
    const heard: ClusterEvent[] = [];
    await to.onEvent((e) => heard.push(e));
    const raw = redisClient();
    for (const junk of ['not json', '{"from":"r1","event":{"kind":"session-ended","userId":"5","jti":"x"}}', '{"from":"r1","event":{"kind":"reboot"}}', '{"event":{"kind":"broadcast","payload":"x"}}']) {
      await raw.publish(`${keys}:all`, junk);
    }
    await raw.publish(`${keys}:all`, JSON.stringify({ from: 'r1', event: { kind: 'friendship-ended', a: 1, b: 2 } }));
    await waitUntil(() => heard.length === 1);
    expect(heard).toEqual([{ kind: 'friendship-ended', a: 1, b: 2 }]);
  });
});

describe.runIf(redisUrl)('Redis bus: batches lost on the way', () => {
  it('a subscription that drops and comes back asks once for a resync; batches after it arrive', async () => {
    const keys = prefix();
    const admin = redisClient();
    const subscriber = redisClient();
    const id = await clientId(admin, subscriber);
    const to = new RedisBus('r2', redisClient(), subscriber, log, keys);
    const from = new RedisBus('r1', redisClient(), redisClient(), log, keys);
    const got: string[] = [];
    let resyncs = 0;
    to.onResync(() => resyncs++);
    await to.subscribe((b) => got.push(b.payload));
    await from.publish('r2', { userIds: [1], payload: 'before' });
    await waitUntil(() => got.length === 1);
    await admin.client('KILL', 'ID', id);
    // Published while r2 has no subscription: Redis gives it to no one.
    expect(await admin.publish(`${keys}:bus:r2`, JSON.stringify({ u: [1], p: 'lost' }))).toBe(0);
    expect(resyncs).toBe(0);
    await waitUntil(() => resyncs === 1);
    await from.publish('r2', { userIds: [1], payload: 'after' });
    await waitUntil(() => got.length === 2);
    expect(got).toEqual(['before', 'after']);
    await new Promise((r) => setTimeout(r, 100));
    expect(resyncs).toBe(1);
  });

  it('a node whose publish failed tells every other node, and its own sockets, once it reaches Redis again, once', async () => {
    const keys = prefix();
    const admin = redisClient();
    const publisher = await failFastClient();
    const id = await clientId(admin, publisher);
    const from = new RedisBus('r1', publisher, redisClient(), log, keys);
    const to = new RedisBus('r2', redisClient(), redisClient(), log, keys);
    const bystander = new RedisBus('r3', redisClient(), redisClient(), log, keys);
    const resyncs: string[] = [];
    to.onResync(() => resyncs.push('r2'));
    bystander.onResync(() => resyncs.push('r3'));
    from.onResync(() => resyncs.push('r1'));
    await to.subscribe(() => {});
    await bystander.subscribe(() => {});
    await from.subscribe(() => {});
    await admin.client('KILL', 'ID', id);
    await waitUntil(() => publisher.status !== 'ready');
    await expect(from.publish('r2', { userIds: [1], payload: 'lost' })).rejects.toThrow();
    await waitUntil(() => resyncs.length >= 3, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(resyncs.sort()).toEqual(['r1', 'r2', 'r3']);
    await from.close();
  });
});
