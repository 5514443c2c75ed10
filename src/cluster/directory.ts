/** The users with a signed-in socket on this node (the hub), as the directory reads them. */
export interface LocalUsers {
  userIds(): readonly number[];
  has(userId: number): boolean;
}

/**
 * Which nodes hold which users' signed-in sockets. A node registers a user when the user's first
 * socket signs in there and unregisters after the last one closes. Entries of a dead node must
 * vanish by themselves (Redis TTL / etcd lease) in the cluster implementations.
 */
export interface Directory {
  /**
   * Starts keeping this node's entries: clears what an earlier run under its id left, clears dead
   * nodes from now on, and writes `local`'s users again whenever its entries may be gone (its
   * store came back empty, or it was dropped from the cluster and came back).
   */
  start(local: LocalUsers): Promise<void>;
  /**
   * Adds the user on this node. A failure to reach the store is not thrown: the entry is written
   * when the store answers again (the user is in `local`).
   */
  register(userId: number): Promise<void>;
  /** Removes the user from this node; like `register`, a failure to reach the store is not thrown (the removal is written when it answers again). */
  unregister(userId: number): Promise<void>;
  /** The nodes holding any of `userIds`, each with the subset it holds. Offline users are absent. */
  locate(userIds: readonly number[]): Promise<Map<string, number[]>>;
  /**
   * Records what the user's friends were last told, for the whole cluster: `online` true returns
   * true only if they were not told "online"; false returns true only if they were. The one caller that gets true tells them, so each change is announced once
   * however many nodes see it.
   */
  claimPresence(userId: number, online: boolean): Promise<boolean>;
  /** Called with users who went offline because the node holding them died (one live node hears it). */
  onUsersLost(listener: (userIds: number[]) => void): void;
  /**
   * Called after this node's entries were written again (they were missing meanwhile): frames for
   * its users may have been routed nowhere, so its sockets should sync.
   */
  onRebuilt(listener: (reason: string) => void): void;
  /** Resolves once no rebuild of this node's entries is under way. */
  settled(): Promise<void>;
  /** The node begins to stop: no more clearing of dead nodes; resolves once a clear under way is done. */
  stopClearing(): Promise<void>;
  close(): Promise<void>;
}
