import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, inject } from 'vitest';
import { EtcdDiscovery } from '../../src/cluster/discovery.etcd.js';

const log = pino({ level: 'silent' });

/**
 * Redis clients and etcd discoveries on the rig's services for a contract suite, each closed (in
 * reverse order) after the file.
 */
export function clusterClients() {
  const redisUrl = inject('redisUrl');
  const etcdUrl = inject('etcdUrl');
  const opened: Array<{ close(): Promise<unknown> }> = [];
  afterAll(async () => {
    for (const o of opened.reverse()) await o.close();
  });
  return {
    redisUrl,
    etcdUrl,
    opened,
    redisClient(): Redis {
      const client = new Redis(redisUrl!);
      opened.push({ close: () => client.quit() });
      return client;
    },
    async discovery(nodeId: string, keys: string): Promise<EtcdDiscovery> {
      const d = new EtcdDiscovery(nodeId, { hosts: etcdUrl!, leaseSeconds: 2, prefix: `${keys}/nodes/` }, log);
      await d.start();
      opened.push(d);
      return d;
    },
  };
}
