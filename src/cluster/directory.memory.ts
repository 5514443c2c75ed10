import type { Directory } from './directory.js';

/** Single-node directory: every online user is on this node. */
export class MemoryDirectory implements Directory {
  private readonly online = new Set<number>();

  constructor(private readonly nodeId: string) {}

  async register(userId: number): Promise<void> {
    this.online.add(userId);
  }

  async unregister(userId: number): Promise<void> {
    this.online.delete(userId);
  }

  async locate(userIds: readonly number[]): Promise<Map<string, number[]>> {
    const here = userIds.filter((id) => this.online.has(id));
    return here.length > 0 ? new Map([[this.nodeId, here]]) : new Map();
  }

  async close(): Promise<void> {}
}
