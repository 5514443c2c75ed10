import type { Discovery } from './discovery.js';

/** A single node: the only live node is this one. */
export class StaticDiscovery implements Discovery {
  constructor(private readonly nodeId: string) {}

  async start(): Promise<void> {}

  isLive(nodeId: string): boolean {
    return nodeId === this.nodeId;
  }

  liveNodes(): string[] {
    return [this.nodeId];
  }

  async isRegistered(nodeId: string): Promise<boolean> {
    return nodeId === this.nodeId;
  }

  onNodeGone(): void {}

  onRejoined(): void {}

  async close(): Promise<void> {}
}
