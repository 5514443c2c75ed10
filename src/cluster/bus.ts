import type { Except } from '../gateway/hub.js';
import type { StreamPosition } from '../notify/notifier.js';

/** Frames for some users on one node, serialised once. */
export interface Batch {
  userIds: number[];
  payload: string;
  except?: Except;
  stream?: StreamPosition;
}

/** A session (token) that ended on one node: every node closes the sockets signed in with it. */
export interface SessionEnded {
  userId: number;
  /** The token's id, or '*' when every session of the user ended. */
  jti: string;
}

/** Hands batches of frames from the node that produced them to the node that holds the sockets. */
export interface Bus {
  publish(nodeId: string, batch: Batch): Promise<void>;
  /** Receives the batches addressed to this node. */
  subscribe(handler: (batch: Batch) => void): Promise<void>;
  /** Tells every other node that a session ended here (logout, revocation). */
  publishSessionEnded(event: SessionEnded): Promise<void>;
  /** Receives the sessions that ended on other nodes. */
  onSessionEnded(handler: (event: SessionEnded) => void): Promise<void>;
  /**
   * Called when pushes to this node's sockets may have been lost: its subscription dropped and is
   * back, or this node or another lost its connection to Redis (lookups and publishes failed) and
   * has it again. The node then asks its sockets to sync (Cmd 24): what they missed is stored, and
   * a sync sends it.
   */
  onResync(handler: () => void): void;
  /**
   * Tells every other node that two users stopped being friends here: each drops the friendship
   * it cached at once, so neither can message the other through any node from then on. A node
   * that may have missed it (a lost publish or subscription) resyncs, and drops every cached one.
   */
  publishFriendshipEnded(a: number, b: number): Promise<void>;
  /** Receives the friendships that ended on other nodes. */
  onFriendshipEnded(handler: (a: number, b: number) => void): Promise<void>;
  /** Hands one frame to every other node, for all of its sockets (the push API's broadcast). */
  broadcast(payload: string): Promise<void>;
  /** Receives the broadcasts of other nodes. */
  onBroadcast(handler: (payload: string) => void): Promise<void>;
  close(): Promise<void>;
}
