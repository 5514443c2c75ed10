import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';

/** The test rig's own services answer (the cluster suites build on these). */
describe('test services', () => {
  it.runIf(inject('redisUrl'))('Redis answers and keeps values with a TTL', async () => {
    const redis = new Redis(inject('redisUrl')!);
    await redis.set('weim:rig', 'ok', 'EX', 30);
    expect(await redis.get('weim:rig')).toBe('ok');
    expect(await redis.ttl('weim:rig')).toBeGreaterThan(0);
    await redis.quit();
  });

  it.runIf(inject('etcdUrl'))('etcd answers; a leased key vanishes when its lease is revoked', async () => {
    const etcd = new Etcd3({ hosts: inject('etcdUrl')! });
    const lease = etcd.lease(5);
    await lease.put('weim/rig/node-1').value('127.0.0.1:1');
    expect(await etcd.get('weim/rig/node-1').string()).toBe('127.0.0.1:1');
    await lease.revoke();
    expect(await etcd.get('weim/rig/node-1').string()).toBeNull();
    etcd.close();
  });

  it.runIf(process.env.CI === 'true')('under CI every service is up (none skipped)', () => {
    expect([inject('mysqlUrl'), inject('redisUrl'), inject('etcdUrl')].every(Boolean)).toBe(true);
  });
});
