import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Batch, Bus, SessionEnded } from './bus.js';

/** A batch on the wire: the frame stays the string it was serialised to, once. */
interface WireBatch {
  u: number[];
  p: string;
  e?: Batch['except'];
  s?: Batch['stream'];
}

/**
 * On `<prefix>:all`, from node `n`: a broadcast frame `p`, `r`: "pushes from me may have been
 * lost", or `f`: the two users of a friendship that ended.
 */
interface WireAll {
  n: string;
  p?: string;
  r?: 1;
  f?: [number, number];
}

/** How often a node retries telling the others that its pushes may have been lost. */
const RESYNC_RETRY_MS = 1000;

/**
 * Batches between nodes over Redis pub/sub: each node subscribes to `<prefix>:bus:<nodeId>` and
 * a batch is published to the one node that holds its users. Ended sessions go to every node on
 * `<prefix>:sessions`, and broadcasts and ended friendships on `<prefix>:all` (each node skips
 * its own).
 *
 * Pub/sub is at most once. A batch for a node that dies meanwhile is lost, and its users get the
 * message by sync when they reconnect (it was stored before it was pushed). A batch lost while the
 * node lives on must not wait for a reconnect that may never come, so a node hears of it
 * (`onResync`) and asks its sockets to sync:
 * - when its own subscription dropped and is back;
 * - when its own or another node's connection to Redis dropped, or a publish failed: that node
 *   could not look recipients up or publish to them, so once it reaches Redis again it tells every
 *   other node (`r` on `<prefix>:all`, retried each second until it goes out) and its own sockets.
 */
export class RedisBus implements Bus {
  private readonly resyncHandlers: (() => void)[] = [];
  private broadcastHandler: ((payload: string) => void) | undefined;
  private friendshipEndedHandler: ((a: number, b: number) => void) | undefined;
  private subscriptionLost = false;
  /** Counts the times this node's pushes may have been lost; the others are told of the latest. */
  private owed = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private resyncSending = false;
  private closed = false;

  constructor(
    private readonly nodeId: string,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly prefix = 'weim',
  ) {
    subscriber.on('close', () => {
      this.subscriptionLost = true;
    });
    subscriber.on('ready', () => {
      if (!this.subscriptionLost || this.closed) return;
      this.subscriptionLost = false;
      this.resubscribed().catch((err: unknown) => this.log.warn({ err }, 'bus: subscribing again failed'));
    });
    // The publisher is also the directory's connection: while it is down, lookups fail too.
    publisher.on('close', () => this.oweResync());
    publisher.on('ready', () => this.tellOwed());
  }

  async publish(nodeId: string, batch: Batch): Promise<void> {
    const wire: WireBatch = { u: batch.userIds, p: batch.payload, ...(batch.except ? { e: batch.except } : {}), ...(batch.stream ? { s: batch.stream } : {}) };
    try {
      await this.publisher.publish(this.channel(nodeId), JSON.stringify(wire));
    } catch (err) {
      this.oweResync();
      throw err;
    }
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  async broadcast(payload: string): Promise<void> {
    const wire: WireAll = { n: this.nodeId, p: payload };
    await this.publisher.publish(this.allChannel(), JSON.stringify(wire));
  }

  async onBroadcast(handler: (payload: string) => void): Promise<void> {
    this.broadcastHandler = handler;
  }

  async publishFriendshipEnded(a: number, b: number): Promise<void> {
    const wire: WireAll = { n: this.nodeId, f: [a, b] };
    try {
      await this.publisher.publish(this.allChannel(), JSON.stringify(wire));
    } catch (err) {
      // The others may keep the friendship cached: once Redis is back they resync and drop it.
      this.oweResync();
      throw err;
    }
  }

  async onFriendshipEnded(handler: (a: number, b: number) => void): Promise<void> {
    this.friendshipEndedHandler = handler;
  }

  async publishSessionEnded(event: SessionEnded): Promise<void> {
    await this.publisher.publish(this.sessionsChannel(), JSON.stringify({ n: this.nodeId, u: event.userId, j: event.jti }));
  }

  async onSessionEnded(handler: (event: SessionEnded) => void): Promise<void> {
    const channel = this.sessionsChannel();
    this.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      try {
        const { n, u, j } = JSON.parse(message) as { n: string; u: number; j: string };
        if (n !== this.nodeId && typeof u === 'number' && typeof j === 'string') handler({ userId: u, jti: j });
      } catch (err) {
        this.log.warn({ err }, 'bus: unreadable session event dropped');
      }
    });
    await this.subscriber.subscribe(channel);
  }

  /** Receives this node's batches, and the broadcasts and resyncs of the others. */
  async subscribe(handler: (batch: Batch) => void): Promise<void> {
    const channel = this.channel(this.nodeId);
    const all = this.allChannel();
    this.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel && from !== all) return;
      let wire: WireBatch | WireAll;
      try {
        wire = JSON.parse(message) as WireBatch | WireAll;
      } catch (err) {
        this.log.warn({ err }, 'bus: unreadable batch dropped');
        return;
      }
      if (from === channel) {
        const batch = wire as WireBatch;
        handler({ userIds: batch.u, payload: batch.p, except: batch.e, stream: batch.s });
        return;
      }
      const note = wire as WireAll;
      if (note.n === this.nodeId) return;
      if (note.r) this.resync(`pushes from node ${note.n} may have been lost`);
      else if (typeof note.p === 'string') this.broadcastHandler?.(note.p);
      else if (Array.isArray(note.f) && note.f.length === 2 && note.f.every(Number.isSafeInteger)) this.friendshipEndedHandler?.(note.f[0], note.f[1]);
    });
    await this.subscriber.subscribe(channel, all);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.resyncTimer);
    await this.subscriber.unsubscribe().catch(() => {});
  }

  /**
   * ioredis subscribes again by itself on reconnecting. Subscribing to this node's channel here
   * as well (a no-op for Redis when it is already) returns once Redis has it, so every batch
   * published after the sockets are asked is received.
   */
  private async resubscribed(): Promise<void> {
    await this.subscriber.subscribe(this.channel(this.nodeId));
    this.resync('the bus subscription dropped and is back');
  }

  /** Tells the node that pushes to its sockets may have been lost (it merges a burst of these into one Cmd 24). */
  private resync(reason: string): void {
    if (this.closed) return;
    this.log.warn({ reason }, 'bus: pushes to this node may have been lost');
    for (const handler of this.resyncHandlers) handler();
  }

  /** Tells every other node, as soon as Redis takes it, that pushes from this one may have been lost. */
  private oweResync(): void {
    if (this.closed) return;
    this.owed++;
    if (this.resyncTimer) return;
    this.resyncTimer = setInterval(() => this.tellOwed(), RESYNC_RETRY_MS);
    this.resyncTimer.unref();
  }

  /** One try at telling the others (each second, and as soon as the connection is back). */
  private tellOwed(): void {
    if (this.resyncSending || !this.resyncTimer || this.closed) return;
    this.resyncSending = true;
    const telling = this.owed;
    const wire: WireAll = { n: this.nodeId, r: 1 };
    this.publisher
      .publish(this.allChannel(), JSON.stringify(wire))
      .then(() => {
        // This node's own lookups failed too: its sockets may have missed pushes of its own.
        this.resync('this node lost its connection to Redis');
        // A loss after this went out is told by the next round.
        if (this.owed !== telling) return;
        clearInterval(this.resyncTimer);
        this.resyncTimer = undefined;
      })
      .catch(() => {})
      .finally(() => {
        this.resyncSending = false;
      });
  }

  private allChannel(): string {
    return `${this.prefix}:all`;
  }

  private sessionsChannel(): string {
    return `${this.prefix}:sessions`;
  }

  private channel(nodeId: string): string {
    return `${this.prefix}:bus:${nodeId}`;
  }
}
