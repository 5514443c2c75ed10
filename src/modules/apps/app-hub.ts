import type { WebSocket } from 'ws';

/** One app connection held by this node. */
export interface AppConnection {
  app: string;
  clientId: string;
  ws: WebSocket;
  /** Groups (woodylan's, per app) it was bound to, with the user id and extend of the last bind. */
  groups: Set<string>;
  userId: string;
  extend: string;
  /** Info was set on it (dropped from the store when it closes). */
  hasInfo?: boolean;
  /** Settles once it is registered (and bound to its token's user): its close waits for that. */
  ready?: Promise<void>;
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
}

/** A socket holding more than this many unsent bytes is skipped (a slow reader never stalls the others). */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * This node's app connections, by clientId and by (app, group): delivery looks up exactly the
 * connections a frame is for, and writes to each without waiting for any (ws queues per socket;
 * a socket too far behind is skipped and closed).
 */
export class AppHub {
  private readonly byId = new Map<string, AppConnection>();
  private readonly byGroup = new Map<string, Set<AppConnection>>();
  private readonly byApp = new Map<string, Set<AppConnection>>();

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

  /** Writes `payload` to the connections of `target` here; answers how many got it. */
  deliver(target: AppTarget, payload: string): number {
    let sent = 0;
    const write = (c: AppConnection) => {
      if (c.ws.readyState !== c.ws.OPEN) return;
      if (c.ws.bufferedAmount > MAX_BUFFERED) {
        c.ws.terminate();
        return;
      }
      c.ws.send(payload);
      sent++;
    };
    if (target.clientIds) for (const id of target.clientIds) {
      const c = this.get(target.app, id);
      if (c) write(c);
    }
    if (target.group !== undefined) for (const c of this.byGroup.get(groupKey(target.app, target.group)) ?? []) write(c);
    if (target.all) for (const c of this.byApp.get(target.app) ?? []) write(c);
    return sent;
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

function groupKey(app: string, group: string): string {
  return `${app}\n${group}`;
}
