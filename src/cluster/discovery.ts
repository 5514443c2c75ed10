/**
 * Which nodes of the cluster are alive. A node announces itself when it starts and is dropped by
 * the others within seconds of dying (an etcd lease it can no longer keep alive). Directory
 * entries of a node that is not live are ignored, so a dead node's users are never routed to it.
 */
export interface Discovery {
  /** Announces this node; resolves once it is registered and the live set is known. */
  start(): Promise<void>;
  /** Whether `nodeId` is alive, as last seen. */
  isLive(nodeId: string): boolean;
  /** The live nodes, as last seen. */
  liveNodes(): string[];
  /** Whether `nodeId` is registered now, asking the source (not the last seen set). */
  isRegistered(nodeId: string): Promise<boolean>;
  /** Called after another node has left the live set (died or stopped). */
  onNodeGone(listener: (nodeId: string) => void): void;
  /**
   * Called after this node announced itself again, having been dropped (its lease lost while
   * etcd was out of reach): the others may have cleared its directory entries meanwhile.
   */
  onRejoined(listener: () => void): void;
  /** Withdraws this node (other nodes drop it at once) and stops watching. */
  close(): Promise<void>;
}
