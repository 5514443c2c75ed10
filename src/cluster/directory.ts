/**
 * Which nodes hold which users' signed-in sockets. A node registers a user when the user's first
 * socket signs in there and unregisters after the last one closes. Entries of a dead node must
 * vanish by themselves (Redis TTL / etcd lease) in the cluster implementations.
 */
export interface Directory {
  register(userId: number): Promise<void>;
  unregister(userId: number): Promise<void>;
  /** The nodes holding any of `userIds`, each with the subset it holds. Offline users are absent. */
  locate(userIds: readonly number[]): Promise<Map<string, number[]>>;
  /**
   * Records what the user's friends were last told, for the whole cluster: `online` true returns
   * true only if they were not told "online"; false returns true only if they were. The one caller that gets true tells them, so each change is announced once
   * however many nodes see it.
   */
  claimPresence(userId: number, online: boolean): Promise<boolean>;
  close(): Promise<void>;
}
