import type { Logger } from 'pino';
import type { Hub } from '../gateway/hub.js';
import type { AppTarget } from '../modules/apps/app-hub.js';
import type { Frame, Notification, Notifier } from '../notify/notifier.js';
import type { Batch, Bus, Relay } from './bus.js';
import type { Directory } from './directory.js';

/**
 * Recipients per live node from which a frame goes to every live node instead of the nodes the
 * directory finds them on: with users spread over n nodes, a node holds none of 8n of them with a
 * chance of (1 − 1/n)^(8n) < e^−8 (0.03 %).
 */
const SPREAD_PER_NODE = 8;

/**
 * The notifier of a running node: serialises each frame once, asks the directory which nodes hold
 * the recipients, delivers this node's share to its hub and publishes one batch per other node.
 * In a cluster, a frame for a few users goes to the relay instead, which does the lookup and the
 * publishes in one step (one Redis call for every such frame of a turn), and one for many users
 * (8 a live node or more) goes to every live node, each delivering to those it holds.
 * Best effort: failures are logged, never thrown (the sync API is the guarantee).
 */
export class Delivery implements Notifier {
  private stopped = false;
  /** Where batches for app connections go (the realtime gateway's hub on this node). */
  appBatches: ((target: AppTarget, payload: string) => void) | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly directory: Directory,
    private readonly bus: Bus,
    private readonly hub: Hub,
    private readonly log: Logger,
    /** In a cluster: frames for a few users go through it (one step instead of a lookup, then publishes). */
    private readonly relay?: Relay,
    /** In a cluster: the live nodes (a frame for many users goes to each, see `deliver`). */
    private readonly liveNodes?: () => string[],
  ) {}

  /** Wires the bus to this node's hub. */
  async start(): Promise<void> {
    await this.bus.subscribe((batch) => {
      if (batch.app) {
        this.appBatches?.(batch.app, batch.payload);
        return;
      }
      this.toHub(batch).catch((err: unknown) => this.log.warn({ err }, 'local delivery failed'));
    });
    await this.bus.onEvent((event) => {
      if (event.kind === 'broadcast') this.toEverySocketHere(event.payload);
    });
  }

  /** One frame to every signed-in socket of the cluster, serialised once (not stored: live only). */
  async broadcast(frame: Frame): Promise<void> {
    const payload = JSON.stringify(frame);
    this.toEverySocketHere(payload);
    await this.bus.announce({ kind: 'broadcast', payload });
  }

  private toEverySocketHere(payload: string): void {
    this.hub.deliver(this.hub.userIds(), payload).catch((err: unknown) => this.log.warn({ err }, 'local broadcast failed'));
  }

  notify(notification: Notification): void {
    this.deliver(notification).catch((err: unknown) => {
      // Once stopped, Redis closes under deliveries still in flight: nothing to warn about.
      if (this.stopped) this.log.debug({ err, cmd: notification.frame.Cmd }, 'delivery failed while stopping');
      else this.log.warn({ err, cmd: notification.frame.Cmd }, 'delivery failed');
    });
  }

  /** The node is shutting down. */
  stop(): void {
    this.stopped = true;
  }

  async deliver(notification: Notification): Promise<void> {
    if (notification.userIds.length === 0) return;
    const batch: Batch = { userIds: notification.userIds, payload: JSON.stringify(notification.frame), except: notification.except, stream: notification.stream, feature: notification.feature };
    if (this.relay && batch.userIds.length <= this.relay.maxUsers) {
      if (await this.relay.relay(batch)) await this.toHub(batch);
      return;
    }
    const live = this.liveNodes?.();
    if (live && batch.userIds.length >= SPREAD_PER_NODE * live.length) {
      // So many users that every live node holds some of them, all but surely: each node is sent
      // the whole list and delivers to those it holds, without asking the directory where they
      // are. That lookup (one SMISMEMBER per node over every user: 60 ms of a worker's CPU for a
      // group of 30,000) would only confirm it, and it misses users whose directory entries were
      // lost (a Redis restart, a failed write) until they are written again.
      // The other nodes first: their publishes leave at the end of this tick (Redis auto-pipelining),
      // and this hub starts on its sockets in the next turn, not before them.
      const published = live.filter((nodeId) => nodeId !== this.nodeId).map((nodeId) => this.bus.publish(nodeId, batch));
      const here = new Promise((resolve) => setImmediate(resolve)).then(() => this.toHub(batch));
      await Promise.all([...published, here]);
      return;
    }
    const nodes = await this.directory.locate(batch.userIds);
    const sends: Promise<unknown>[] = [];
    for (const [nodeId, userIds] of nodes) sends.push(nodeId === this.nodeId ? this.toHub({ ...batch, userIds }) : this.bus.publish(nodeId, { ...batch, userIds }));
    await Promise.all(sends);
  }

  /** A batch's frame to its users' sockets on this node (the hub skips users it does not hold). */
  private toHub(batch: Batch): Promise<number> {
    return this.hub.deliver(batch.userIds, batch.payload, batch.except, batch.stream, batch.feature);
  }
}
