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
 * Batches between nodes over Redis pub/sub: each node subscribes to `<prefix>:bus:<nodeId>` and
 * a batch is published to the one node that holds its users. Ended sessions go to every node on
 * `<prefix>:sessions` (each node skips its own). At most once: a batch for a node
 * that dies meanwhile is lost, and its users get the message by sync when they reconnect (it was
 * stored before it was pushed).
 */
export class RedisBus implements Bus {
  constructor(
    private readonly nodeId: string,
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly log: Logger,
    private readonly prefix = 'weim',
  ) {}

  async publish(nodeId: string, batch: Batch): Promise<void> {
    const wire: WireBatch = { u: batch.userIds, p: batch.payload, ...(batch.except ? { e: batch.except } : {}), ...(batch.stream ? { s: batch.stream } : {}) };
    await this.publisher.publish(this.channel(nodeId), JSON.stringify(wire));
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

  async subscribe(handler: (batch: Batch) => void): Promise<void> {
    const channel = this.channel(this.nodeId);
    this.subscriber.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      let wire: WireBatch;
      try {
        wire = JSON.parse(message) as WireBatch;
      } catch (err) {
        this.log.warn({ err }, 'bus: unreadable batch dropped');
        return;
      }
      handler({ userIds: wire.u, payload: wire.p, except: wire.e, stream: wire.s });
    });
    await this.subscriber.subscribe(channel);
  }

  async close(): Promise<void> {
    await this.subscriber.unsubscribe().catch(() => {});
  }

  private sessionsChannel(): string {
    return `${this.prefix}:sessions`;
  }

  private channel(nodeId: string): string {
    return `${this.prefix}:bus:${nodeId}`;
  }
}
