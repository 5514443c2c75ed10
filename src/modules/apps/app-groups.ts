/**
 * Which connections, on which nodes, are in each app's groups, cluster-wide: a group send goes
 * only to the nodes holding members, and an online list is one read, never a question to every
 * node. Readers drop the ids of nodes that are not live (a clientId names its node), so a dead
 * node's connections leave every list within the lease; its entries are cleared after that.
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
  /** The app's groups that have members, sorted (weim's own, named with a control character, included). */
  groupsOf(app: string): Promise<string[]>;
  /**
   * Keeps the entries right from now on: clears what an earlier run under `node`'s id left,
   * clears a node that died (once it is gone for good), and writes `local`'s entries again when
   * they went missing (Redis restarted empty, or this node was dropped from the cluster and is back).
   */
  start(node: string, local: LocalConnections): Promise<void>;
  close(): Promise<void>;
}

/** This node's connections (the hub). */
export interface LocalConnections {
  all(): Iterable<LocalConnection>;
  get(app: string, clientId: string): LocalConnection | undefined;
}

/** A connection held by this node, as the store keeps it. */
export interface LocalConnection {
  app: string;
  clientId: string;
  groups: ReadonlySet<string>;
  userId: string;
  /** Set on it (bin-x's per-connection map): written again with the rest. */
  info?: Record<string, string>;
  /** It closed (its entries are being taken out). */
  closed?: boolean;
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

  async groupsOf(app: string): Promise<string[]> {
    const prefix = `${app}\n`;
    return [...this.groups.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length)).sort();
  }

  /** One node, in memory: what it keeps dies with it. */
  async start(): Promise<void> {}

  async close(): Promise<void> {}
}

export function distinctSorted(users: ReadonlyArray<string | null | undefined>): string[] {
  return [...new Set(users.filter((u): u is string => !!u))].sort();
}
