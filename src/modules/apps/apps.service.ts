import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Bus } from '../../cluster/bus.js';
import type { Discovery } from '../../cluster/discovery.js';
import type { Db } from '../../db/database.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import type { AppGroups } from './app-groups.js';
import type { AppConnection, AppHub, AppTarget } from './app-hub.js';
import type { ClientIds } from './client-id.js';
import { NodeCalls } from './node-calls.js';

/** What an app's backend sends: woodylan's fields, echoed to the client as they came. */
export interface AppMessage {
  sendUserId: string;
  code: number;
  msg: string;
  data: string;
}

/** What the app's backend can do to one connection, run on the node that holds it. */
type ConnectionOp =
  | { kind: 'join'; group: string; userId: string; extend: string; quiet?: boolean }
  | { kind: 'leave'; group: string; quiet?: boolean }
  | { kind: 'user'; userId: string }
  | { kind: 'info'; info: Record<string, string>; merge: boolean }
  | { kind: 'close' };

/** Presence notices to a group's members (woodylan's retcodes). */
export const ONLINE_CODE = 1001;
export const OFFLINE_CODE = 1002;

/** A message id as woodylan made them: 16 lowercase hex characters. */
function messageId(): string {
  return randomUUID().replaceAll('-', '').slice(8, 24);
}

/** The frame a connection gets, in woodylan's field order. */
function frameOf(id: string, m: AppMessage): string {
  return JSON.stringify({ messageId: id, sendUserId: m.sendUserId, code: m.code, msg: m.msg, data: m.data });
}

/**
 * The realtime gateway's operations for an app's backend: sends to connections, a group or the
 * whole app, binding to groups, online lists, closing. Every operation names its app, and a
 * clientId of another app is "no such client" (ClientIds binds each id to its app). Sends go to
 * the nodes that hold the connections only: a clientId names its node; a group's nodes come from
 * AppGroups; only a send to the whole app goes to every live node.
 */
export class AppsService {
  constructor(
    private readonly nodeId: string,
    private readonly ids: ClientIds,
    private readonly hub: AppHub,
    private readonly groups: AppGroups,
    private readonly bus: Bus,
    private readonly discovery: Pick<Discovery, 'isLive' | 'liveNodes'>,
    private readonly log: Pick<Logger, 'warn'>,
    private readonly db?: Db,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
    nodeCallTimeoutMs?: number,
  ) {
    this.calls = new NodeCalls(nodeId, bus, discovery, log, nodeCallTimeoutMs);
  }

  private readonly calls: NodeCalls;
  /** Set when this node starts closing all its connections (see `draining`). */
  private leaving = false;

  /** A lifecycle webhook event of a connection (connect, disconnect, bind, join), when a receiver wants it. */
  private lifecycle(event: 'app.connected' | 'app.disconnected' | 'app.bound' | 'app.joined', c: AppConnection, extra: Record<string, unknown> = {}): void {
    const db = this.db;
    if (!db || !this.webhooks.wants(event)) return;
    // One connection's events are written one after the other, so their ids keep their order.
    const data = { app: c.app, client_id: c.clientId, node: this.nodeId, ...extra };
    const next = (this.recording.get(c) ?? Promise.resolve())
      .then(() => this.webhooks.record(db, event, orderKey.appConnection(c.clientId), data))
      .catch((err: unknown) => this.log.warn({ err, event }, 'recording an app webhook event failed'));
    this.recording.set(c, next);
  }

  private readonly recording = new WeakMap<AppConnection, Promise<void>>();

  /** Keeps the cluster-wide store right from now on (clears leftovers and dead nodes, restores this node's entries). */
  start(): Promise<void> {
    return this.groups.start(this.nodeId, this.hub);
  }

  /** A connection was let in here: in the app's registry of connections (where it is, that it is online). */
  async connected(c: AppConnection): Promise<void> {
    this.lifecycle('app.connected', c);
    this.hub.join(c, ALL_GROUP);
    await this.groups.join(c.app, ALL_GROUP, c.clientId, this.nodeId);
  }

  /** Whether a connection of the app is open, cluster-wide. */
  async isOnline(app: string, clientId: string): Promise<boolean> {
    const node = this.ids.nodeOf(app, clientId);
    return node !== undefined && this.discovery.isLive(node) && (await this.groups.isMember(app, ALL_GROUP, clientId));
  }

  /** The distinct users the connections are bound to. */
  usersOf(app: string, clientIds: readonly string[]): Promise<string[]> {
    return this.groups.usersOf(app, clientIds);
  }

  /** Sends to each of `clientIds` (each gets its own message id when `oneIdEach`); unknown ids are skipped. Answers the first message id. */
  async sendToClients(app: string, clientIds: readonly string[], m: AppMessage, oneIdEach = false): Promise<string> {
    if (oneIdEach) return (await this.sendEach(app, clientIds, m))[0] ?? messageId();
    const byNode = new Map<string, string[]>();
    for (const id of clientIds) {
      // Not filtered by liveness (a node whose lease lapsed for a moment still holds its
      // connections): a frame for a node that is really gone reaches nobody.
      const node = this.ids.nodeOf(app, id);
      if (node === undefined) continue;
      let ids = byNode.get(node);
      if (!ids) byNode.set(node, (ids = []));
      ids.push(id);
    }
    const first = messageId();
    const payload = frameOf(first, m);
    await Promise.all([...byNode].map(([node, ids]) => this.toNode(node, { app, clientIds: ids }, payload)));
    return first;
  }

  /** Sends to every connection bound to the app's user, each with its own message id; answers the ids (none: nobody online). */
  async sendToUser(app: string, userId: string, m: AppMessage): Promise<string[]> {
    return this.sendEach(app, await this.groups.members(app, userGroup(userId)), m);
  }

  /** Sends to each of `clientIds` with a message id of its own (unknown ids skipped); answers the ids. */
  private async sendEach(app: string, clientIds: readonly string[], m: AppMessage): Promise<string[]> {
    const sent: string[] = [];
    for (const clientId of clientIds) {
      const node = this.ids.nodeOf(app, clientId);
      if (node === undefined) continue;
      const id = messageId();
      await this.toNode(node, { app, clientIds: [clientId] }, frameOf(id, m));
      sent.push(id);
    }
    return sent;
  }

  /** Closes every connection of the app's user; answers their clientIds. */
  async kickUser(app: string, userId: string): Promise<string[]> {
    const clientIds = await this.connectionsOf(app, userId);
    await Promise.all(clientIds.map((id) => this.close(app, id)));
    return clientIds;
  }

  async sendToGroup(app: string, group: string, m: AppMessage, skipNode?: string): Promise<string> {
    const id = messageId();
    await this.toGroup(app, group, frameOf(id, m), skipNode);
    return id;
  }

  async sendToApp(app: string, m: AppMessage): Promise<string> {
    const id = messageId();
    await this.toApp(app, frameOf(id, m));
    return id;
  }

  /**
   * A frame, as it is, to the group's members (but those on `skipNode`): only the nodes holding some are sent it. Not
   * filtered by liveness: a node whose lease lapsed for a moment under load still holds its
   * members (skipping it lost their frames while the send was answered success); a node really
   * gone reaches nobody, and its entries are cleared once it is gone for good.
   */
  async toGroup(app: string, group: string, payload: string, skipNode?: string): Promise<void> {
    const nodes = await this.groups.nodes(app, group);
    await Promise.all(nodes.filter((node) => node !== skipNode).map((node) => this.toNode(node, { app, group }, payload)));
  }

  /** A frame to every connection of the app: only the nodes holding some are sent it (as toGroup). */
  async toApp(app: string, payload: string): Promise<void> {
    const nodes = await this.groups.nodes(app, ALL_GROUP);
    await Promise.all(nodes.map((node) => this.toNode(node, { app, all: true }, payload)));
  }

  /** The app's groups with members and their connections, on live nodes (goravel-socket's get_all_groups); at most `max` groups. */
  async allGroups(app: string, max: number): Promise<Map<string, string[]>> {
    const groups = (await this.groups.groupsOf(app)).filter((g) => !isInternal(g)).slice(0, max);
    const all = new Map<string, string[]>();
    for (const group of groups) {
      const members = await this.online(app, group);
      if (members.length > 0) all.set(group, members);
    }
    return all;
  }

  /** A frame to every connection bound to the app's user `userId` (xlvein's accounts), wherever they are. */
  async toUser(app: string, userId: string, payload: string): Promise<void> {
    await this.toGroup(app, userGroup(userId), payload);
  }

  /** The connections bound to the app's user. */
  async connectionsOf(app: string, userId: string): Promise<string[]> {
    return this.online(app, userGroup(userId));
  }

  /** Binds a connection on this node to the app's user (its sends to the user reach it). */
  async bindUserHere(c: AppConnection, userId: string): Promise<void> {
    // One user per connection: binding another replaces it. Local state first, then the store.
    const before = c.userId;
    c.userId = userId;
    if (before && before !== userId && this.hub.leave(c, userGroup(before))) await this.groups.leave(c.app, [userGroup(before)], c.clientId, this.nodeId);
    if (!this.hub.join(c, userGroup(userId))) return;
    await this.groups.join(c.app, userGroup(userId), c.clientId, this.nodeId);
    await this.groups.setUser(c.app, c.clientId, userId);
    this.lifecycle('app.bound', c, { user_id: userId });
  }

  /**
   * Binds a connection of this app to a group (with a user id and extend); the group's members,
   * the new one included, get 1001 when it was not in it. False: no such connection (unknown,
   * another app's, or on a node that is gone).
   */
  bind(app: string, clientId: string, group: string, userId: string, extend: string, quiet = false): Promise<boolean> {
    return this.onConnection(app, clientId, { kind: 'join', group, userId, extend, quiet });
  }

  /** Takes a connection out of a group; the remaining members get 1002 (unless `quiet`). */
  leave(app: string, clientId: string, group: string, quiet = false): Promise<boolean> {
    return this.onConnection(app, clientId, { kind: 'leave', group, quiet });
  }

  /** Binds a connection to the app's user (`''`: unbinds it). */
  bindUser(app: string, clientId: string, userId: string): Promise<boolean> {
    return this.onConnection(app, clientId, { kind: 'user', userId });
  }

  /** Sets (replaces, or merges into) a connection's info, on the node that holds it. */
  setInfo(app: string, clientId: string, info: Record<string, string>, merge: boolean): Promise<boolean> {
    return this.onConnection(app, clientId, { kind: 'info', info, merge });
  }

  /** A connection's info, cluster-wide; undefined: no such connection (unknown, another app's, or its node is gone). */
  async info(app: string, clientId: string): Promise<Record<string, string> | undefined> {
    const node = this.ids.nodeOf(app, clientId);
    if (node === undefined || !this.discovery.isLive(node)) return undefined;
    return this.groups.info(app, clientId);
  }

  /** Closes a connection of this app, wherever it is; false: no such connection. */
  close(app: string, clientId: string): Promise<boolean> {
    return this.onConnection(app, clientId, { kind: 'close' });
  }

  /**
   * Runs `op` on the node holding the connection: here, or carried there (NodeCalls) and answered
   * once it ran there. False: no such connection.
   */
  private async onConnection(app: string, clientId: string, op: ConnectionOp): Promise<boolean> {
    const node = this.ids.nodeOf(app, clientId);
    if (node === undefined) return false;
    if (node === this.nodeId) {
      const c = this.hub.get(app, clientId);
      return c ? this.runHere(c, op) : false;
    }
    return this.calls.call(node, app, clientId, JSON.stringify(op));
  }

  /**
   * Runs `op` on a connection here, after whatever else is being done to it (operations and its
   * close never interleave); false when it closed before its turn.
   */
  private runHere(c: AppConnection, op: ConnectionOp): Promise<boolean> {
    return this.serially(c, async () => {
      if (c.closed) return false;
      await this.apply(c, op);
      return true;
    });
  }

  private serially<T>(c: AppConnection, work: () => Promise<T>): Promise<T> {
    const run = (c.chain ?? Promise.resolve()).then(work);
    c.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async apply(c: AppConnection, op: ConnectionOp): Promise<void> {
    switch (op.kind) {
      case 'close':
        this.hub.close(c, 1000, 'closed by the app');
        return;
      case 'info':
        c.info = op.merge ? { ...c.info, ...op.info } : { ...op.info };
        await this.groups.writeInfo(c.app, c.clientId, op.info, op.merge);
        return;
      case 'user':
        if (op.userId) await this.bindUserHere(c, op.userId);
        else if (c.userId) {
          const before = c.userId;
          c.userId = '';
          if (this.hub.leave(c, userGroup(before))) await this.groups.leave(c.app, [userGroup(before)], c.clientId, this.nodeId);
          await this.groups.setUser(c.app, c.clientId, '');
        }
        return;
      case 'leave':
        if (!this.hub.leave(c, op.group)) return;
        await this.groups.leave(c.app, [op.group], c.clientId, this.nodeId);
        if (!op.quiet) await this.sendToGroup(c.app, op.group, { sendUserId: '', code: OFFLINE_CODE, msg: '客户端下线', data: presenceData(c) });
        return;
      case 'join':
        c.extend = op.extend;
        if (op.userId && op.userId !== c.userId) await this.bindUserHere(c, op.userId);
        if (!this.hub.join(c, op.group)) return;
        await this.groups.join(c.app, op.group, c.clientId, this.nodeId);
        this.lifecycle('app.joined', c, { group: op.group });
        if (!op.quiet) await this.sendToGroup(c.app, op.group, { sendUserId: '', code: ONLINE_CODE, msg: '客户端上线', data: presenceData(c) });
        return;
    }
  }

  /** The group's connections, on every live node (a dead node's are left out). */
  async online(app: string, group: string): Promise<string[]> {
    const members = await this.groups.members(app, group);
    return members.filter((id) => {
      const node = this.ids.nodeOf(app, id);
      return node !== undefined && this.discovery.isLive(node);
    });
  }

  /**
   * This node is about to close every connection it holds (a drain): from now on a connection's
   * 1002 goes to its groups' members on other nodes only. Those here are being closed too (and
   * reconnect elsewhere, having missed what came meanwhile); telling each of them of every other
   * made a drain quadratic: a node holding 5,000 members of one group sent them 12.5 million
   * notices while it stopped.
   */
  draining(): void {
    this.leaving = true;
  }

  /**
   * A connection closed here: out of its groups, whose remaining members get 1002 (not those of
   * its user binding; during a drain, only those on other nodes). Operations queued for it are
   * skipped; one under way finishes first.
   */
  async closed(c: AppConnection): Promise<void> {
    // A close during its registration waits for it, so that everything it joined is left.
    await c.ready;
    c.closed = true;
    await this.serially(c, async () => {
      const groups = this.hub.remove(c);
      this.lifecycle('app.disconnected', c, { user_id: c.userId || null });
      if (c.info) await this.groups.dropInfo(c.app, c.clientId);
      if (c.userId) await this.groups.setUser(c.app, c.clientId, '');
      if (groups.length === 0) return;
      await this.groups.leave(c.app, groups, c.clientId, this.nodeId);
      const m = { sendUserId: '', code: OFFLINE_CODE, msg: '客户端下线', data: presenceData(c) };
      const skip = this.leaving ? this.nodeId : undefined;
      for (const group of groups) if (!isInternal(group)) await this.sendToGroup(c.app, group, m, skip);
    });
  }

  /** A batch from the bus for app connections here: a frame, an operation on one of them, or the answer to one this node carried. */
  received(target: AppTarget, payload: string): void {
    if (target.answer !== undefined) return this.calls.answered(target, payload);
    if (!target.op) {
      this.hub.deliver(target, payload);
      return;
    }
    const c = this.hub.get(target.app, target.clientIds?.[0] ?? '');
    this.calls.serve(target, c ? this.runHere(c, JSON.parse(payload) as ConnectionOp) : Promise.resolve(false));
  }

  private async toNode(node: string, target: AppTarget, payload: string): Promise<void> {
    if (node === this.nodeId) {
      this.hub.deliver(target, payload);
      return;
    }
    await this.bus.publish(node, { userIds: [], payload, app: target });
  }
}

/**
 * A user binding is membership of a group no group name can be (names never hold control
 * characters): sends to a user and its online list are a group's, cluster-wide, for free.
 */
const USER_GROUP = '\u0001user:';
/** Every connection of an app: where they are (a send to the whole app goes to those nodes) and whether one is online. */
const ALL_GROUP = '\u0001all';

function userGroup(userId: string): string {
  return `${USER_GROUP}${userId}`;
}

/** The groups weim keeps for itself (a user's, the app's): no presence notices. */
function isInternal(group: string): boolean {
  return group.startsWith('\u0001');
}

/** woodylan's presence data: a JSON string with the keys sorted. */
function presenceData(c: AppConnection): string {
  return JSON.stringify({ clientId: c.clientId, extend: c.extend, userId: c.userId });
}
