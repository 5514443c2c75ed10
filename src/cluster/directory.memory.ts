import type { Directory } from './directory.js';

/** Single-node directory: every online user is on this node. */
export class MemoryDirectory implements Directory {
  private readonly online = new Set<number>();
  private readonly announced = new Set<number>();

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

  async claimPresence(userId: number, online: boolean): Promise<boolean> {
    if (online === this.announced.has(userId) || (!online && this.online.has(userId))) return false;
    if (online) this.announced.add(userId);
    else this.announced.delete(userId);
    return true;
  }

  /** Nothing to keep: the entries live as long as the process. */
  async start(): Promise<void> {}

  /** No other node can die holding users. */
  onUsersLost(): void {}

  /** The entries are never lost. */
  onRebuilt(): void {}

  async settled(): Promise<void> {}

  async stopClearing(): Promise<void> {}

  async close(): Promise<void> {}
}
