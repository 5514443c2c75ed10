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

/** "Batches to you may have been lost": sent by a node whose publish to this one failed. */
interface WireResync {
  r: 1;
}

/** How often a node retries telling another that publishes to it failed. */
const RESYNC_RETRY_MS = 1000;

/**
 * Batches between nodes over Redis pub/sub: each node subscribes to `<prefix>:bus:<nodeId>` and
 * a batch is published to the one node that holds its users. Ended sessions go to every node on
 * `<prefix>:sessions`, and broadcasts on `<prefix>:all` (each node skips its own).
 *
 * Pub/sub is at most once. A batch for a node that dies meanwhile is lost, and its users get the
 * message by sync when they reconnect (it was stored before it was pushed). A batch lost while the
 * node lives on (its subscription dropped for a moment, or a publish to it failed) must not wait
 * for a reconnect that may never come: the node hears of it (`onResync`) once its subscription is
 * back, or once the publisher can reach it again, and asks its sockets to sync.
 */
export class RedisBus implements Bus {
  private readonly resyncHandlers: (() => void)[] = [];
  /** Nodes a publish to failed, still to be told. */
  private readonly missed = new Set<string>();
  private missedTimer: NodeJS.Timeout | undefined;
  private subscriptionLost = false;
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
  }

  async publish(nodeId: string, batch: Batch): Promise<void> {
    const wire: WireBatch = { u: batch.userIds, p: batch.payload, ...(batch.except ? { e: batch.except } : {}), ...(batch.stream ? { s: batch.stream } : {}) };
    try {
      await this.publisher.publish(this.channel(nodeId), JSON.stringify(wire));
    } catch (err) {
      this.markMissed(nodeId);
      throw err;
    }
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  async publishSessionEnded(event: SessionEnded): Promise<void> {
    await this.publisher.publish(this.sessionsChannel(), JSON.stringify({ n: this.nodeId, u: event.userId, j: event.jti }));
  }

  async broadcast(payload: string): Promise<void> {
    await this.publisher.publish(this.allChannel(), JSON.stringify({ n: this.nodeId, p: payload }));
  }

  async onBroadcast(handler: (payload: string) => void): Promise<void> {
    const channel = this.allChannel();
    this.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      try {
        const { n, p } = JSON.parse(message) as { n: string; p: string };
        if (n !== this.nodeId && typeof p === 'string') handler(p);
      } catch (err) {
        this.log.warn({ err }, 'bus: unreadable broadcast dropped');
      }
    });
    await this.subscriber.subscribe(channel);
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

  async subscribe(handler: (batch: Batch) => void): Promise<void> {
    const channel = this.channel(this.nodeId);
    this.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      let wire: WireBatch | WireResync;
      try {
        wire = JSON.parse(message) as WireBatch | WireResync;
      } catch (err) {
        this.log.warn({ err }, 'bus: unreadable batch dropped');
        return;
      }
      if ('r' in wire) this.resync('another node could not publish to this one');
      else handler({ userIds: wire.u, payload: wire.p, except: wire.e, stream: wire.s });
    });
    await this.subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.missedTimer);
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

  private resync(reason: string): void {
    this.log.warn({ reason }, 'bus: batches to this node may have been lost; asking its sockets to sync');
    for (const handler of this.resyncHandlers) handler();
  }

  /** Tells `nodeId`, as soon as it can be reached, that a publish to it failed. */
  private markMissed(nodeId: string): void {
    this.missed.add(nodeId);
    if (this.missedTimer || this.closed) return;
    this.missedTimer = setInterval(() => {
      for (const node of this.missed) {
        const wire: WireResync = { r: 1 };
        this.publisher.publish(this.channel(node), JSON.stringify(wire)).then(
          () => this.missed.delete(node),
          () => {},
        );
      }
      if (this.missed.size === 0) {
        clearInterval(this.missedTimer);
        this.missedTimer = undefined;
      }
    }, RESYNC_RETRY_MS);
    this.missedTimer.unref();
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
