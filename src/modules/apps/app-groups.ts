import type { Redis } from 'ioredis';

/**
 * Which connections, on which nodes, are in each app's groups, cluster-wide: a group send goes
 * only to the nodes holding members, and an online list is one read, never a question to every
 * node. Entries of a node that died stay until read: readers drop the ids of nodes that are not
 * live (a clientId names its node), so a dead node's connections leave every list within the lease.
 */
export interface AppGroups {
  /** Adds the connection (held by `node`) to the group. */
  join(app: string, group: string, clientId: string, node: string): Promise<void>;
  /** Takes it out of the groups. */
  leave(app: string, groups: readonly string[], clientId: string, node: string): Promise<void>;
  /** The group's members (clientIds), on any node. */
  members(app: string, group: string): Promise<string[]>;
  /** The nodes holding members. */
  nodes(app: string, group: string): Promise<string[]>;
}

/** One node: everything is here. */
export class MemoryAppGroups implements AppGroups {
  private readonly groups = new Map<string, Map<string, string>>();

  async join(app: string, group: string, clientId: string, node: string): Promise<void> {
    const key = `${app}\n${group}`;
    let members = this.groups.get(key);
    if (!members) this.groups.set(key, (members = new Map()));
    members.set(clientId, node);
  }

  async leave(app: string, groups: readonly string[], clientId: string): Promise<void> {
    for (const group of groups) {
      const key = `${app}\n${group}`;
      this.groups.get(key)?.delete(clientId);
      if (this.groups.get(key)?.size === 0) this.groups.delete(key);
    }
  }

  async members(app: string, group: string): Promise<string[]> {
    return [...(this.groups.get(`${app}\n${group}`)?.keys() ?? [])];
  }

  async nodes(app: string, group: string): Promise<string[]> {
    return [...new Set(this.groups.get(`${app}\n${group}`)?.values() ?? [])];
  }
}

/**
 * In Redis: `<prefix>:app:<app>:g:<group>` is the set of member clientIds and
 * `<prefix>:app:<app>:gn:<group>` a hash node → members there (a node's field goes when its count
 * reaches 0).
 */
export class RedisAppGroups implements AppGroups {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async join(app: string, group: string, clientId: string, node: string): Promise<void> {
    const added = await this.redis.sadd(this.members_(app, group), clientId);
    if (added === 1) await this.redis.hincrby(this.nodes_(app, group), node, 1);
  }

  async leave(app: string, groups: readonly string[], clientId: string, node: string): Promise<void> {
    for (const group of groups) {
      const removed = await this.redis.srem(this.members_(app, group), clientId);
      if (removed !== 1) continue;
      const left = await this.redis.hincrby(this.nodes_(app, group), node, -1);
      if (left <= 0) await this.redis.hdel(this.nodes_(app, group), node);
    }
  }

  async members(app: string, group: string): Promise<string[]> {
    return this.redis.smembers(this.members_(app, group));
  }

  async nodes(app: string, group: string): Promise<string[]> {
    return this.redis.hkeys(this.nodes_(app, group));
  }

  private members_(app: string, group: string): string {
    return `${this.prefix}:app:${app}:g:${group}`;
  }

  private nodes_(app: string, group: string): string {
    return `${this.prefix}:app:${app}:gn:${group}`;
  }
}
