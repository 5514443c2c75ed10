import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { redactUrl, StartupError } from '../errors.js';
import { withTimeout } from '../timeout.js';
import type { Bus, Relay } from './bus.js';
import { MemoryBus } from './bus.memory.js';
import { RedisBus } from './bus.redis.js';
import type { Directory, LocalUsers } from './directory.js';
import { MemoryDirectory } from './directory.memory.js';
import { RedisDirectory } from './directory.redis.js';
import { RedisRelay } from './relay.redis.js';
import type { Discovery } from './discovery.js';
import { EtcdDiscovery } from './discovery.etcd.js';
import { StaticDiscovery } from './discovery.static.js';
import { type IdempotencyStore, MemoryIdempotencyStore } from './idempotency.js';
import { RedisIdempotencyStore } from './idempotency.redis.js';
import { MemoryOnceStore, type OnceStore, RedisOnceStore } from './once.js';
import { MemorySocketCounts, type SocketCounts } from './socket-counts.js';
import { RedisSocketCounts } from './socket-counts.redis.js';
import type { RateLimitStore } from '../http/rate-limiter.js';
import { type AppGroups, MemoryAppGroups } from '../modules/apps/app-groups.js';
import { RedisAppGroups } from '../modules/apps/app-groups.redis.js';

/** The cluster ports of one node, chosen by `cluster.mode`; each carries its own lifecycle. */
export interface Cluster {
  directory: Directory;
  bus: Bus;
  /** Cluster mode: frames for a few users, looked up and published in one step (Delivery). */
  relay?: Relay;
  discovery: Discovery;
  /** Keys seen once across the cluster (the push API's nonces). */
  once: OnceStore;
  /** The push API's Idempotency-Keys and the answers they got, cluster-wide. */
  idempotency: IdempotencyStore;
  /** Open sockets per client address and per user, cluster-wide (the gateway's caps). */
  sockets: SocketCounts;
  /** Where rate limits count: this process, or Redis so that a limit holds across nodes. */
  rateLimits: RateLimitStore;
  /** The realtime gateway's app groups, cluster-wide (docs/gateway.md). */
  appGroups: AppGroups;
  /**
   * Reaches the cluster's services (failing within `cluster.connect_timeout_ms` with an error
   * naming the one that did not answer, and its URL), announces the node and starts keeping
   * `local`'s users in the directory.
   */
  start(local: LocalUsers): Promise<void>;
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
      const directory: Directory = new MemoryDirectory(nodeId);
      const bus = new MemoryBus(nodeId);
      const discovery = new StaticDiscovery(nodeId);
      return {
        directory,
        bus,
        discovery,
        once: new MemoryOnceStore(),
        idempotency: new MemoryIdempotencyStore(),
        sockets: new MemorySocketCounts(),
        rateLimits: { kind: 'memory' },
        appGroups: new MemoryAppGroups(),
        async start(local) {
          await discovery.start();
          await directory.start(local);
        },
        ping: async () => {},
        async close() {
          await Promise.all([directory.close(), bus.close(), discovery.close()]);
        },
      };
    }
    case 'cluster': {
      const { key_prefix: prefix, connect_timeout_ms: timeoutMs } = config.cluster;
      // Named, so that CLIENT LIST shows which node each connection belongs to. Auto-pipelining:
      // the commands of one turn of the event loop (a message's rate-limit check, directory lookup
      // and publish, for every message of the turn) leave in one write instead of one write each;
      // a write is most of a command's CPU here (docs/benchmarks.md, cluster bench). Explicit
      // pipelines and MULTIs still leave at once, so code that needs an order between them and
      // single commands awaits the first before issuing the second (it does).
      const redis = new Redis(config.cluster.redis_url, { lazyConnect: true, maxRetriesPerRequest: 3, connectionName: `${prefix}-${nodeId}`, enableAutoPipelining: true });
      const subscriber = redis.duplicate({ connectionName: `${prefix}-${nodeId}-bus`, enableAutoPipelining: false });
      for (const client of [redis, subscriber]) client.on('error', (err) => log.warn({ err }, 'redis connection error'));
      const discovery = new EtcdDiscovery(nodeId, { hosts: config.cluster.etcd_hosts, leaseSeconds: config.cluster.lease_seconds, prefix: `${prefix}/nodes/`, info: { port: config.server.port } }, log);
      const directory = new RedisDirectory(nodeId, redis, discovery, log, prefix, config.cluster.directory_check_ms);
      const bus = new RedisBus(nodeId, redis, subscriber, log, prefix);
      const sockets = new RedisSocketCounts(nodeId, redis, discovery, log, prefix, config.cluster.directory_check_ms);
      const appGroups = new RedisAppGroups(redis, prefix, discovery, log, config.cluster.directory_check_ms);
      const redisAt = `Redis at ${redactUrl(config.cluster.redis_url)}`;
      return {
        directory,
        bus,
        relay: new RedisRelay(nodeId, redis, discovery, () => bus.publishFailed(), prefix),
        discovery,
        once: new RedisOnceStore(redis, prefix),
        idempotency: new RedisIdempotencyStore(redis, prefix),
        sockets,
        rateLimits: { kind: 'redis', client: redis, prefix },
        appGroups,
        async start(local) {
          await answersWithin(Promise.all([redis.connect(), subscriber.connect()]).then(() => redis.ping()), timeoutMs, redisAt);
          await answersWithin(discovery.start(), timeoutMs, `etcd at ${config.cluster.etcd_hosts}`);
          await directory.start(local);
          await sockets.start();
        },
        async ping() {
          await redis.ping();
          if (!discovery.isLive(nodeId)) throw new Error('this node is not registered in etcd');
        },
        async close() {
          await directory.stopClearing();
          await directory.close();
          await sockets.close();
          await appGroups.close();
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

/** Resolves as `work` does, or rejects naming `service` when it fails or has not answered within `ms`. */
function answersWithin<T>(work: Promise<T>, ms: number, service: string): Promise<T> {
  const named = work.catch((err: unknown) => {
    throw new StartupError(`${service} is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  return withTimeout(named, ms, () => new StartupError(`${service} did not answer within ${ms} ms (cluster.connect_timeout_ms)`));
}
