/** Names the cluster's Redis keys and channels, shared by the directory, the bus and the relay. */

/** The set of nodes holding the user's sockets. */
export function userKey(prefix: string, userId: number): string {
  return `${prefix}:u:${userId}`;
}

/** The channel a node receives its batches on. */
export function busChannel(prefix: string, nodeId: string): string {
  return `${prefix}:bus:${nodeId}`;
}
