import type { Except } from '../gateway/hub.js';
import type { AppTarget } from '../modules/apps/app-hub.js';
import type { StreamPosition } from '../notify/notifier.js';

/** Frames for some users on one node, serialised once. */
export interface Batch {
  userIds: readonly number[];
  payload: string;
  except?: Except;
  stream?: StreamPosition;
  /** Only sockets that declared this feature get it (Notification.feature). */
  feature?: string;
  /** For app connections (the realtime gateway), not IM users: which of the app's connections get it. */
  app?: AppTarget;
}

/**
 * Something that happened on one node that every other node must act on:
 * - `session-ended`: a token (`jti`, or '*' for every session of the user) ended there (logout,
 *   revocation); each node closes the sockets signed in with it.
 * - `friendship-ended`: two users stopped being friends there; each node drops the friendship it
 *   cached, so neither can message the other through any node from then on.
 * - `broadcast`: one frame for every socket of the cluster (the push API's broadcast).
 * - `pushes-lost`: the node could not look recipients up or publish to them for a while (its link
 *   to Redis dropped); each node's sockets may have missed pushes, and resync (`onResync`).
 */
export type ClusterEvent =
  | { kind: 'session-ended'; userId: number; jti: string; at?: number }
  | { kind: 'friendship-ended'; a: number; b: number }
  | { kind: 'broadcast'; payload: string }
  | { kind: 'pushes-lost' };

/** Hands batches of frames from the node that produced them to the node that holds the sockets. */
export interface Bus {
  publish(nodeId: string, batch: Batch): Promise<void>;
  /** Receives the batches addressed to this node. */
  subscribe(handler: (batch: Batch) => void): Promise<void>;
  /**
   * Tells every other node (not this one). Rejects when it could not be sent; a node that may
   * have missed one resyncs once it can hear again (`onResync`), and drops every cached friendship
   * and checks its sessions then.
   */
  announce(event: ClusterEvent): Promise<void>;
  /** Receives the other nodes' events (`pushes-lost` arrives as `onResync` instead). */
  onEvent(handler: (event: ClusterEvent, fromNode: string) => void): Promise<void>;
  /**
   * Called when pushes to this node's sockets may have been lost: its subscription dropped and is
   * back, or this node or another lost its connection to Redis (lookups and publishes failed) and
   * has it again. The node then asks its sockets to sync (Cmd 24): what they missed is stored, and
   * a sync sends it.
   */
  onResync(handler: () => void): void;
  close(): Promise<void>;
}

/**
 * A frame for a few users handed to the nodes holding them in one step, instead of a directory
 * lookup and then a publish: the cluster finds the users' live nodes and publishes the batch to
 * the others itself. Only for a few users (each node gets all of them; its hub skips those it
 * does not hold).
 */
export interface Relay {
  /** Users one relayed batch may name; more go through the directory and the bus. */
  readonly maxUsers: number;
  /**
   * Publishes `batch` to every other live node holding any of its users; true when this node holds
   * one (its hub delivers it). Rejects when the store could not be reached (the bus then resyncs).
   */
  relay(batch: Batch): Promise<boolean>;
}

