import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Discovery } from '../src/cluster/discovery.js';
import { EtcdDiscovery } from '../src/cluster/discovery.etcd.js';
import { StaticDiscovery } from '../src/cluster/discovery.static.js';
import { findBinary, stopProcess } from './setup/processes.js';
import { startEtcd } from './setup/services.js';
import { waitUntil } from './helpers/wait.js';

const log = pino({ level: 'silent' });
const etcdUrl = inject('etcdUrl');
const prefix = () => `weim-d-${randomBytes(4).toString('hex')}/nodes/`;
if (!etcdUrl) console.warn('!!! discovery contract needs etcd: the etcd cases are SKIPPED (CI would fail instead)');

const opened: Array<{ close(): Promise<unknown> | unknown }> = [];
afterAll(async () => {
  for (const o of opened.reverse()) await o.close();
});


async function etcdNode(nodeId: string, keys: string): Promise<EtcdDiscovery> {
  const d = new EtcdDiscovery(nodeId, { hosts: etcdUrl!, leaseSeconds: 2, prefix: keys }, log);
  await d.start();
  opened.push(d);
  return d;
}

type Maker = () => Promise<Discovery>;
const implementations: Array<[string, Maker | undefined]> = [
  ['static', async () => new StaticDiscovery('s1')],
  ['etcd', etcdUrl ? () => etcdNode('s1', prefix()) : undefined],
];

describe.each(implementations)('discovery contract: %s', (_name, make) => {
  it.runIf(make)('a started node is live and registered; an unknown one is neither', async () => {
    const d = await make!();
    await d.start();
    expect(d.isLive('s1')).toBe(true);
    expect(d.liveNodes()).toContain('s1');
    expect(await d.isRegistered('s1')).toBe(true);
    expect(d.isLive('nobody')).toBe(false);
    expect(await d.isRegistered('nobody')).toBe(false);
  });
});

describe.runIf(etcdUrl)('discovery: etcd membership', () => {
  it('nodes see each other; one that stops is gone at once for the others', async () => {
    const keys = prefix();
    const [a, b] = [await etcdNode('a', keys), await etcdNode('b', keys)];
    await waitUntil(() => a.isLive('b') && b.isLive('a'));
    const gone: string[] = [];
    a.onNodeGone((id) => gone.push(id));
    await b.close();
    await waitUntil(() => gone.includes('b'), 1000);
    expect(a.isLive('b')).toBe(false);
    expect(await a.isRegistered('b')).toBe(false);
    expect(gone).toEqual(['b']);
  });

  it('a node that dies without withdrawing (its lease no longer kept) is gone once its lease runs out', async () => {
    const keys = prefix();
    const a = await etcdNode('a', keys);
    const b = await etcdNode('b', keys);
    await waitUntil(() => a.isLive('b'));
    const gone: string[] = [];
    a.onNodeGone((id) => gone.push(id));
    // What SIGKILL does: the lease is no longer kept alive, and nothing is revoked.
    (b as unknown as { lease: { release(): void } }).lease.release();
    await waitUntil(() => gone.includes('b'), 10_000);
    expect(a.isLive('b')).toBe(false);
  });

  it('a node whose lease was lost announces itself again and says so (onRejoined); the others never lose it for long', async () => {
    const keys = prefix();
    const a = await etcdNode('a', keys);
    const b = await etcdNode('b', keys);
    await waitUntil(() => b.isLive('a'));
    let rejoined = 0;
    a.onRejoined(() => rejoined++);
    const admin = new Etcd3({ hosts: etcdUrl! });
    opened.push({ close: () => admin.close() });
    const lease = (await admin.get(`${keys}a`).exec()).kvs[0]!.lease;
    await admin.leaseClient.leaseRevoke({ ID: lease });
    await waitUntil(() => rejoined === 1, 8000);
    expect(await b.isRegistered('a')).toBe(true);
    await waitUntil(() => b.isLive('a'));
  });
});

describe.runIf(etcdUrl)('discovery: etcd out of reach', () => {
  it('a node whose etcd goes away keeps one quiet retry loop (it once spun thousands a second, holding GBs)', async () => {
    const etcd = await startEtcd(findBinary('etcd')!);
    let lines = 0;
    const counting = pino({ level: 'warn' }, { write: () => void lines++ });
    const d = new EtcdDiscovery('lonely', { hosts: etcd.url, leaseSeconds: 2, prefix: prefix() }, counting);
    await d.start();
    opened.push(d);
    await stopProcess(etcd.child!);
    rmSync(etcd.dir!, { recursive: true, force: true });
    await new Promise((r) => setTimeout(r, 6000));
    // The lease is lost once and announcing fails once: two lines, and a few from the watcher.
    expect(lines).toBeLessThan(10);
    // It still answers from the membership it last saw.
    expect(d.isLive('lonely')).toBe(true);
  }, 15_000);
});
