import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { textFrame } from '../../gateway/wire-frame.js';

/** One app connection held by this node. */
export interface AppConnection {
  app: string;
  clientId: string;
  ws: WebSocket;
  /**
   * The socket under `ws`, to write whole frames built once for many connections (as the IM
   * gateway does, gateway/connection.ts): the app gateway has per-message deflate off and sends no
   * Blob, so `ws` writes each of its own frames at once and queues nothing (test/ws-pin.test.ts).
   */
  socket: Duplex;
  /** Groups (woodylan's, per app) it was bound to, with the user id and extend of the last bind. */
  groups: Set<string>;
  userId: string;
  extend: string;
  /** Its info (bin-x's per-connection map), kept here as well: written to the store again if the store lost it. */
  info?: Record<string, string>;
  /** It closed: its entries are being taken out of the store. */
  closed?: boolean;
  /** Settles once it is registered (and bound to its token's user): its close waits for that. */
  ready?: Promise<void>;
  /** What is being done to it (operations, its close), one after the other (AppsService). */
  chain?: Promise<void>;
}

/** Where a frame goes among one app's connections on a node. */
export interface AppTarget {
  app: string;
  clientIds?: string[];
  group?: string;
  /** Every connection of the app on the node. */
  all?: true;
  /** Not a frame: the payload is an operation (AppsService's ConnectionOp) on connection `clientIds[0]`. */
  op?: true;
  /** With `op`: where to answer whether it ran (the node and the id the caller waits on). */
  reply?: { node: string; id: string };
  /** Not a frame: the payload answers the operation `answer` (`{"ok":boolean}`). */
  answer?: string;
}

/** A socket holding more than this many unsent bytes is skipped (a slow reader never stalls the others). */
const MAX_BUFFERED = 4 * 1024 * 1024;
/** Connections written per event-loop turn: a huge fan-out is sent in slices, so timers, health checks and lease renewals run between. */
const SLICE = 2000;

/** A frame on its way to some connections (or a close), written SLICE at a time, in the order deliveries came. */
interface Delivery {
  to: AppConnection[];
  frame?: Buffer;
  close?: { code: number; reason: string };
  next: number;
}

/**
 * This node's app connections, by clientId and by (app, group): delivery looks up exactly the
 * connections a frame is for and writes the frame, built once, to each without waiting for any
 * (a socket too far behind is closed). A delivery to more than SLICE connections yields to the
 * event loop between slices (binding 10,000 with presence once blocked it for 25 s, past the
 * etcd lease); deliveries run one after the other, so every connection gets frames in the order
 * they came.
 */
export class AppHub {
  private readonly byId = new Map<string, AppConnection>();
  private readonly byGroup = new Map<string, Set<AppConnection>>();
  private readonly byApp = new Map<string, Set<AppConnection>>();
  private readonly queue: Delivery[] = [];

  /** `slice`: connections written per event-loop turn. */
  constructor(private readonly slice = SLICE) {}

  add(c: AppConnection): void {
    this.byId.set(c.clientId, c);
    let of = this.byApp.get(c.app);
    if (!of) this.byApp.set(c.app, (of = new Set()));
    of.add(c);
  }

  /** Forgets a closed connection; answers the groups it was in. */
  remove(c: AppConnection): string[] {
    if (this.byId.get(c.clientId) !== c) return [];
    this.byId.delete(c.clientId);
    this.byApp.get(c.app)?.delete(c);
    if (this.byApp.get(c.app)?.size === 0) this.byApp.delete(c.app);
    for (const g of c.groups) this.leaveLocal(c, g);
    return [...c.groups];
  }

  get(app: string, clientId: string): AppConnection | undefined {
    const c = this.byId.get(clientId);
    return c && c.app === app ? c : undefined;
  }

  /** True when the connection was not in the group before. */
  join(c: AppConnection, group: string): boolean {
    if (c.groups.has(group)) return false;
    c.groups.add(group);
    const key = groupKey(c.app, group);
    let members = this.byGroup.get(key);
    if (!members) this.byGroup.set(key, (members = new Set()));
    members.add(c);
    return true;
  }

  /** True when the connection was in the group. */
  leave(c: AppConnection, group: string): boolean {
    if (!c.groups.delete(group)) return false;
    this.leaveLocal(c, group);
    return true;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Writes `payload` to the connections of `target` here (those it has now), after the deliveries before it. */
  deliver(target: AppTarget, payload: string): void {
    const to: AppConnection[] = [];
    if (target.clientIds) for (const id of target.clientIds) {
      const c = this.get(target.app, id);
      if (c) to.push(c);
    }
    if (target.group !== undefined) for (const c of this.byGroup.get(groupKey(target.app, target.group)) ?? []) to.push(c);
    if (target.all) for (const c of this.byApp.get(target.app) ?? []) to.push(c);
    if (to.length === 0) return;
    const delivery = { to, frame: textFrame(payload), next: 0 };
    if (this.queue.push(delivery) === 1) this.pump();
  }

  /** Closes a connection once the frames queued before reach it (a send answered before a close is not dropped by it). */
  close(c: AppConnection, code: number, reason: string): void {
    if (this.queue.length === 0) c.ws.close(code, reason);
    else this.queue.push({ to: [c], close: { code, reason }, next: 0 });
  }

  /** Writes the queue's deliveries, SLICE connections a turn. */
  private pump(): void {
    let budget = this.slice;
    while (this.queue.length > 0) {
      const d = this.queue[0]!;
      const end = Math.min(d.to.length, d.next + budget);
      for (let i = d.next; i < end; i++) {
        const c = d.to[i]!;
        if (d.close) c.ws.close(d.close.code, d.close.reason);
        else write(c, d.frame!);
      }
      budget -= end - d.next;
      d.next = end;
      if (d.next < d.to.length) break;
      this.queue.shift();
      if (budget <= 0) break;
    }
    if (this.queue.length > 0) setImmediate(() => this.pump());
  }

  /** Every connection here (for a stop). */
  all(): IterableIterator<AppConnection> {
    return this.byId.values();
  }

  private leaveLocal(c: AppConnection, group: string): void {
    const key = groupKey(c.app, group);
    const members = this.byGroup.get(key);
    members?.delete(c);
    if (members?.size === 0) this.byGroup.delete(key);
  }
}

function write(c: AppConnection, frame: Buffer): void {
  const ws = c.ws;
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount > MAX_BUFFERED) {
    ws.terminate();
    return;
  }
  try {
    c.socket.write(frame);
  } catch {
    // A socket torn down under it: its close event follows; the others still get the frame.
    ws.terminate();
  }
}

function groupKey(app: string, group: string): string {
  return `${app}\n${group}`;
}
