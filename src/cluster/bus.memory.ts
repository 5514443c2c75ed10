import type { Batch, Bus } from './bus.js';

/** Single-node bus: batches for this node go straight to its handler; there are no other nodes. */
export class MemoryBus implements Bus {
  private handler: ((batch: Batch) => void) | undefined;

  constructor(private readonly nodeId: string) {}

  async publish(nodeId: string, batch: Batch): Promise<void> {
    if (nodeId !== this.nodeId) throw new Error(`memory bus has no node ${nodeId}`);
    this.handler?.(batch);
  }

  async subscribe(handler: (batch: Batch) => void): Promise<void> {
    this.handler = handler;
  }

  /** There are no other nodes to tell. */
  async announce(): Promise<void> {}

  async onEvent(): Promise<void> {}

  /** Nothing is lost between a node and itself. */
  onResync(): void {}

  async close(): Promise<void> {
    this.handler = undefined;
  }
}
