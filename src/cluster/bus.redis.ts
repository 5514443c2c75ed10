import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Batch, Bus, ClusterEvent } from './bus.js';
import { busChannel } from './redis-keys.js';

/** A batch on the wire: the frame stays the string it was serialised to, once. */
interface WireBatch {
  u: readonly number[];
  p: string;
  e?: Batch['except'];
  s?: Batch['stream'];
  /**
   * Batch.feature. A node of an older build ignores it and sends the frame to every socket of the
   * users; clients ignore Cmds they do not know, so that costs nothing but the bytes during an upgrade.
   */
  f?: string;
  /** Batch.app (a node of an older build would deliver nothing of it: `u` is empty). */
  a?: Batch['app'];
}

/** A batch as it is published to a node's channel. */
export function encodeBatch(batch: Batch): string {
  const wire: WireBatch = { u: batch.userIds, p: batch.payload, ...(batch.except ? { e: batch.except } : {}), ...(batch.stream ? { s: batch.stream } : {}), ...(batch.feature ? { f: batch.feature } : {}), ...(batch.app ? { a: batch.app } : {}) };
  return JSON.stringify(wire);
}

const userId = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
/** An event on `<prefix>:all` as it is checked on arrival (another node's bug is dropped, not acted on). */
const wireEvent = z.object({
  from: z.string().min(1).max(64),
  event: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('session-ended'), userId, jti: z.string().min(1).max(200), at: z.number().int().positive().optional() }),
    z.object({ kind: z.literal('friendship-ended'), a: userId, b: userId }),
    z.object({ kind: z.literal('broadcast'), payload: z.string() }),
    z.object({ kind: z.literal('pushes-lost') }),
  ]),
});

/** How often a node retries telling the others that its pushes may have been lost. */
const RESYNC_RETRY_MS = 1000;

/**
 * Batches between nodes over Redis pub/sub: each node subscribes to `<prefix>:bus:<nodeId>` and
 * a batch is published to the one node that holds its users. Cluster events go to every node on
 * `<prefix>:all` as `{from, event}` (each node skips its own).
 *
 * Pub/sub is at most once. A batch for a node that dies meanwhile is lost, and its users get the
 * message by sync when they reconnect (it was stored before it was pushed). A batch lost while the
 * node lives on must not wait for a reconnect that may never come, so a node hears of it
 * (`onResync`) and asks its sockets to sync:
 * - when its own subscription dropped and is back;
 * - when its own or another node's connection to Redis dropped, or a publish failed: that node
 *   could not look recipients up or publish to them, so once it reaches Redis again it tells every
 *   other node (`pushes-lost`, sent as soon as the connection is back and retried each second
 *   until it goes out) and its own sockets.
 */
export class RedisBus implements Bus {
  private readonly resyncHandlers: (() => void)[] = [];
  private readonly eventHandlers: Array<(event: ClusterEvent, fromNode: string) => void> = [];
  private batchHandler: ((batch: Batch) => void) | undefined;
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
    subscriber.on('message', (channel: string, message: string) => this.receive(channel, message));
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
    try {
      await this.publisher.publish(this.channel(nodeId), encodeBatch(batch));
    } catch (err) {
      this.publishFailed();
      throw err;
    }
  }

  /**
   * Batches may have been lost: a publish (here or by the relay) failed. Every other node is told,
   * as soon as Redis takes it, and this node's sockets too (see `onResync`).
   */
  publishFailed(): void {
    this.oweResync();
  }

  /** Receives this node's batches (and, from then on, the others' events). */
  async subscribe(handler: (batch: Batch) => void): Promise<void> {
    this.batchHandler = handler;
    await this.subscriber.subscribe(this.channel(this.nodeId), this.allChannel());
  }

  async announce(event: ClusterEvent): Promise<void> {
    try {
      await this.publisher.publish(this.allChannel(), JSON.stringify({ from: this.nodeId, event }));
    } catch (err) {
      // The others may have missed it: once Redis is back they resync (drop cached friendships,
      // check their sessions, ask their sockets to sync).
      this.oweResync();
      throw err;
    }
  }

  async onEvent(handler: (event: ClusterEvent, fromNode: string) => void): Promise<void> {
    this.eventHandlers.push(handler);
    await this.subscriber.subscribe(this.allChannel());
  }

  onResync(handler: () => void): void {
    this.resyncHandlers.push(handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.resyncTimer);
    await this.subscriber.unsubscribe().catch(() => {});
  }

  private receive(channel: string, message: string): void {
    if (channel === this.channel(this.nodeId)) {
      let batch: WireBatch;
      try {
        batch = JSON.parse(message) as WireBatch;
      } catch (err) {
        this.log.warn({ err }, 'bus: unreadable batch dropped');
        return;
      }
      this.batchHandler?.({ userIds: batch.u, payload: batch.p, except: batch.e, stream: batch.s, feature: batch.f, ...(batch.a ? { app: batch.a } : {}) });
      return;
    }
    if (channel !== this.allChannel()) return;
    let parsed;
    try {
      parsed = wireEvent.safeParse(JSON.parse(message));
    } catch {
      parsed = undefined;
    }
    if (!parsed?.success) {
      this.log.warn({ message: message.slice(0, 200) }, 'bus: unreadable cluster event dropped');
      return;
    }
    const { from, event } = parsed.data;
    if (from === this.nodeId) return;
    if (event.kind === 'pushes-lost') return this.resync(`pushes from node ${from} may have been lost`);
    for (const handler of this.eventHandlers) handler(event, from);
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
    this.publisher
      .publish(this.allChannel(), JSON.stringify({ from: this.nodeId, event: { kind: 'pushes-lost' } }))
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

  private channel(nodeId: string): string {
    return busChannel(this.prefix, nodeId);
  }
}
