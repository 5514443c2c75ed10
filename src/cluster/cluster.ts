import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Bus } from './bus.js';
import { MemoryBus } from './bus.memory.js';
import { RedisBus } from './bus.redis.js';
import type { Directory } from './directory.js';
import { MemoryDirectory } from './directory.memory.js';
import { RedisDirectory } from './directory.redis.js';
import type { Discovery } from './discovery.js';
import { EtcdDiscovery } from './discovery.etcd.js';
import { StaticDiscovery } from './discovery.static.js';
import { MemoryOnceStore, type OnceStore, RedisOnceStore } from './once.js';
import type { RateLimitStore } from '../http/rate-limiter.js';

/** The cluster ports of one node, chosen by `cluster.mode`. */
export interface Cluster {
  directory: Directory;
  bus: Bus;
  discovery: Discovery;
  /** Keys seen once across the cluster (the push API's nonces). */
  once: OnceStore;
  /** Where rate limits count: this process, or Redis so that a limit holds across nodes. */
  rateLimits: RateLimitStore;
  /** Announces the node and clears what an earlier run under its id left in the directory. */
  start(): Promise<void>;
  /**
   * Registers the node's users (read when it is safe to) again after it was dropped and came back
   * (its lease lost while etcd was out of reach: the others cleared its entries meanwhile). No-op
   * on a single node.
   */
  restore(userIds: () => readonly number[]): Promise<void>;
  /** The node begins to stop: it clears no more dead nodes (it could not announce their users). */
  stopClearing(): Promise<void>;
  /** Called with users who went offline because the node holding them died (one live node hears it). */
  onUsersLost(listener: (userIds: number[]) => void): void;
  /** Throws unless the cluster's services answer and this node is live (for /readyz). */
  ping(): Promise<void>;
  /** Withdraws the node (the others drop it at once) and closes the connections. */
  close(): Promise<void>;
}

/**
 * `single`: memory directory and bus, this node only. `cluster`: Redis directory and bus, etcd
 * discovery; every node of the cluster shares the database, the Redis and the etcd.
 */
export function createCluster(config: Pick<Config, 'cluster' | 'server'>, nodeId: string, log: Logger): Cluster {
  const mode = config.cluster.mode;
  switch (mode) {
    case 'single': {
      const directory = new MemoryDirectory(nodeId);
      const bus = new MemoryBus(nodeId);
      return {
        directory,
        bus,
        discovery: new StaticDiscovery(nodeId),
        once: new MemoryOnceStore(),
        rateLimits: { kind: 'memory' },
        start: async () => {},
        restore: async () => {},
        stopClearing: async () => {},
        onUsersLost: () => {},
        ping: async () => {},
        close: async () => {
          await Promise.all([directory.close(), bus.close()]);
        },
      };
    }
    case 'cluster': {
      const prefix = config.cluster.key_prefix;
      // Named, so that CLIENT LIST shows which node each connection belongs to.
      const redis = new Redis(config.cluster.redis_url, { lazyConnect: false, maxRetriesPerRequest: 3, connectionName: `${prefix}-${nodeId}` });
      const subscriber = redis.duplicate({ connectionName: `${prefix}-${nodeId}-bus` });
      for (const client of [redis, subscriber]) client.on('error', (err) => log.warn({ err }, 'redis connection error'));
      const discovery = new EtcdDiscovery(nodeId, { hosts: config.cluster.etcd_hosts, leaseSeconds: config.cluster.lease_seconds, prefix: `${prefix}/nodes/`, info: { port: config.server.port } }, log);
      const directory = new RedisDirectory(nodeId, redis, discovery, log, prefix);
      const bus = new RedisBus(nodeId, redis, subscriber, log, prefix);
      return {
        directory,
        bus,
        discovery,
        once: new RedisOnceStore(redis, prefix),
        rateLimits: { kind: 'redis', client: redis, prefix },
        async start() {
          await discovery.start();
          await directory.start();
        },
        restore: (userIds) => directory.restore(userIds),
        stopClearing: () => directory.stopClearing(),
        onUsersLost: (listener) => directory.onUsersLost(listener),
        async ping() {
          await redis.ping();
          if (!discovery.isLive(nodeId)) throw new Error('this node is not registered in etcd');
        },
        async close() {
          await bus.close();
          await discovery.close();
          await Promise.allSettled([redis.quit(), subscriber.quit()]);
        },
      };
    }
    default:
      throw new Error(`unknown cluster.mode ${String(mode satisfies never)}`);
  }
}
