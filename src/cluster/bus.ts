import type { Except } from '../gateway/hub.js';
import type { StreamPosition } from '../notify/notifier.js';

/** Frames for some users on one node, serialised once. */
export interface Batch {
  userIds: number[];
  payload: string;
  except?: Except;
  stream?: StreamPosition;
}

/** Hands batches of frames from the node that produced them to the node that holds the sockets. */
export interface Bus {
  publish(nodeId: string, batch: Batch): Promise<void>;
  /** Receives the batches addressed to this node. */
  subscribe(handler: (batch: Batch) => void): Promise<void>;
  close(): Promise<void>;
}
