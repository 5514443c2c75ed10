import type { StreamPosition } from '../notify/notifier.js';
import type { Connection } from './connection.js';
import type { FeatureName } from '../notify/features.js';
import { LiveFrame } from './wire-frame.js';

/** Recipients delivered per event-loop turn: a huge fan-out is sent in slices, not one long block. */
const SLICE = 2000;

/** What to skip when delivering: the device that sent the message. */
export interface Except {
  connectionId?: string;
  jti?: string;
}

/** This node's signed-in sockets, by user. */
export class Hub {
  private readonly byUser = new Map<number, Set<Connection>>();

  /** Returns true when this is the user's first socket on this node. */
  add(connection: Connection): boolean {
    const userId = connection.userId!;
    let set = this.byUser.get(userId);
    const first = set === undefined;
    if (!set) {
      set = new Set();
      this.byUser.set(userId, set);
    }
    set.add(connection);
    return first;
  }

  /** Returns true when that was the user's last socket on this node. */
  remove(connection: Connection): boolean {
    const userId = connection.userId;
    if (userId === undefined) return false;
    const set = this.byUser.get(userId);
    if (!set?.delete(connection)) return false;
    if (set.size > 0) return false;
    this.byUser.delete(userId);
    return true;
  }

  has(userId: number): boolean {
    return this.byUser.has(userId);
  }

  connectionsOf(userId: number): ReadonlySet<Connection> {
    return this.byUser.get(userId) ?? new Set();
  }

  get userCount(): number {
    return this.byUser.size;
  }

  /** The users with a socket here. */
  userIds(): number[] {
    return [...this.byUser.keys()];
  }

  *all(): Iterable<Connection> {
    for (const set of this.byUser.values()) yield* set;
  }

  /**
   * Sends one serialised frame to every socket of each user, skipping `except`, and, with a
   * `feature`, the sockets that did not declare it; prepared once (LiveFrame).
   */
  async deliver(userIds: readonly number[], payload: string, except?: Except, stream?: StreamPosition, feature?: string): Promise<number> {
    // Built for the first socket here that gets it (none may).
    let frame: LiveFrame | undefined;
    let sent = 0;
    for (let start = 0; start < userIds.length; start += SLICE) {
      if (start > 0) await new Promise((r) => setImmediate(r));
      for (const userId of userIds.slice(start, start + SLICE)) {
        const set = this.byUser.get(userId);
        if (!set) continue;
        for (const connection of set) {
          if (feature !== undefined && !connection.features.has(feature as FeatureName)) {
            // Not for this socket; a stream event still moves its position (no gap to wait for).
            if (stream) connection.skip(stream);
            continue;
          }
          // The sending device knows its message (from the ack or the HTTP answer): it is not sent
          // the frame, but its stream moves past it, so the next frame finds no gap.
          if (except && (connection.id === except.connectionId || (except.jti !== undefined && connection.jti === except.jti))) {
            if (stream) connection.skip(stream);
            continue;
          }
          frame ??= new LiveFrame(payload, stream);
          if (connection.deliver(frame)) sent++;
        }
      }
    }
    return sent;
  }
}
