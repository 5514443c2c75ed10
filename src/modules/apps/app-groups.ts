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
  /** A connection's info (bin-x's per-connection map), `{}` when none. */
  info(app: string, clientId: string): Promise<Record<string, string>>;
  /** Replaces the connection's info, or merges `info` into it. */
  writeInfo(app: string, clientId: string, info: Record<string, string>, merge: boolean): Promise<void>;
  /** Forgets a closed connection's info. */
  dropInfo(app: string, clientId: string): Promise<void>;
  /** Records the app user a connection is bound to (`''`: none; also on close). */
  setUser(app: string, clientId: string, userId: string): Promise<void>;
  /** The users the connections are bound to, distinct, sorted (unbound ones left out). */
  usersOf(app: string, clientIds: readonly string[]): Promise<string[]>;
  /** Whether the connection is a member of the group. */
  isMember(app: string, group: string, clientId: string): Promise<boolean>;
}

/** A connection's info outlives a node that died holding it by at most this long (it is dropped on close). */
const INFO_TTL_SECONDS = 86_400;

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

  private readonly infos = new Map<string, Record<string, string>>();

  async info(app: string, clientId: string): Promise<Record<string, string>> {
    return { ...this.infos.get(`${app}\n${clientId}`) };
  }

  async writeInfo(app: string, clientId: string, info: Record<string, string>, merge: boolean): Promise<void> {
    const key = `${app}\n${clientId}`;
    this.infos.set(key, merge ? { ...this.infos.get(key), ...info } : { ...info });
  }

  async dropInfo(app: string, clientId: string): Promise<void> {
    this.infos.delete(`${app}\n${clientId}`);
  }

  private readonly users = new Map<string, string>();

  async setUser(app: string, clientId: string, userId: string): Promise<void> {
    if (userId) this.users.set(`${app}\n${clientId}`, userId);
    else this.users.delete(`${app}\n${clientId}`);
  }

  async usersOf(app: string, clientIds: readonly string[]): Promise<string[]> {
    return distinctSorted(clientIds.map((id) => this.users.get(`${app}\n${id}`)));
  }

  async isMember(app: string, group: string, clientId: string): Promise<boolean> {
    return this.groups.get(`${app}\n${group}`)?.has(clientId) ?? false;
  }
}

function distinctSorted(users: ReadonlyArray<string | null | undefined>): string[] {
  return [...new Set(users.filter((u): u is string => !!u))].sort();
}

/**
 * A member in, and its node's count up, at once (a leave running beside a join on the same node
 * could otherwise drop the node's field while it still holds a member).
 */
const JOIN = `if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then redis.call('HINCRBY', KEYS[2], ARGV[2], 1) end`;
/** A member out, its node's count down, and the node's field gone at 0, at once. */
const LEAVE = `if redis.call('SREM', KEYS[1], ARGV[1]) == 1 and redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end`;

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
    await this.redis.eval(JOIN, 2, this.members_(app, group), this.nodes_(app, group), clientId, node);
  }

  async leave(app: string, groups: readonly string[], clientId: string, node: string): Promise<void> {
    for (const group of groups) await this.redis.eval(LEAVE, 2, this.members_(app, group), this.nodes_(app, group), clientId, node);
  }

  async members(app: string, group: string): Promise<string[]> {
    return this.redis.smembers(this.members_(app, group));
  }

  async nodes(app: string, group: string): Promise<string[]> {
    return this.redis.hkeys(this.nodes_(app, group));
  }

  async info(app: string, clientId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.info_(app, clientId));
  }

  async writeInfo(app: string, clientId: string, info: Record<string, string>, merge: boolean): Promise<void> {
    const key = this.info_(app, clientId);
    const multi = this.redis.multi();
    if (!merge) multi.del(key);
    if (Object.keys(info).length > 0) multi.hset(key, info);
    multi.expire(key, INFO_TTL_SECONDS);
    await multi.exec();
  }

  async dropInfo(app: string, clientId: string): Promise<void> {
    await this.redis.del(this.info_(app, clientId));
  }

  async setUser(app: string, clientId: string, userId: string): Promise<void> {
    if (userId) await this.redis.hset(this.users_(app), clientId, userId);
    else await this.redis.hdel(this.users_(app), clientId);
  }

  async usersOf(app: string, clientIds: readonly string[]): Promise<string[]> {
    if (clientIds.length === 0) return [];
    return distinctSorted(await this.redis.hmget(this.users_(app), ...clientIds));
  }

  async isMember(app: string, group: string, clientId: string): Promise<boolean> {
    return (await this.redis.sismember(this.members_(app, group), clientId)) === 1;
  }

  /** clientId → the app user it is bound to. */
  private users_(app: string): string {
    return `${this.prefix}:app:${app}:users`;
  }

  private info_(app: string, clientId: string): string {
    return `${this.prefix}:app:${app}:info:${clientId}`;
  }

  private members_(app: string, group: string): string {
    return `${this.prefix}:app:${app}:g:${group}`;
  }

  private nodes_(app: string, group: string): string {
    return `${this.prefix}:app:${app}:gn:${group}`;
  }
}
