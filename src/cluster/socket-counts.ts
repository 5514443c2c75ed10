/**
 * Open sockets counted per key (a client address, a user), across the cluster, for the gateway's
 * caps. Counts of a node that dies must stop counting by themselves.
 */
export interface SocketCounts {
  /** Counts one more socket under `key`, unless the cluster would then hold more than `max`: false then, and nothing counted. */
  acquire(key: string, max: number): Promise<boolean>;
  /** Counts one socket less under `key` (one that `acquire` counted). */
  release(key: string): Promise<void>;
  /** How many sockets this node counts under `key`. */
  localCount(key: string): number;
  /** Clears what an earlier run under this node's id left, and starts keeping this node's counts. */
  start(): Promise<void>;
  /** Stops; this node's counts stop counting (its sockets are closed). */
  close(): Promise<void>;
}

/** Single node: the counts live in this process. */
export class MemorySocketCounts implements SocketCounts {
  private readonly counts = new Map<string, number>();

  async acquire(key: string, max: number): Promise<boolean> {
    const next = (this.counts.get(key) ?? 0) + 1;
    if (next > max) return false;
    this.counts.set(key, next);
    return true;
  }

  async release(key: string): Promise<void> {
    const left = (this.counts.get(key) ?? 0) - 1;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
  }

  localCount(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
