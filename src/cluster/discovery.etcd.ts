import { Etcd3, type Lease, type Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';

export interface EtcdDiscoveryOptions {
  /** etcd client URLs, comma-separated (http://127.0.0.1:2379). */
  hosts: string;
  /** Lease TTL: a node that stops keeping it alive is dropped by the others after about this long. */
  leaseSeconds: number;
  /** Key prefix of the cluster's node records. */
  prefix?: string;
  /** What this node's record says about it (address, start time): for operators, not for routing. */
  info?: Record<string, unknown>;
}

/**
 * Live nodes through etcd: each node keeps `<prefix><nodeId>` under a lease of its own and watches
 * the prefix. A node that dies stops renewing its lease and etcd deletes its key once the TTL runs
 * out; a node that stops revokes it, so the others see it gone at once. A lost lease (etcd
 * unreachable for longer than the TTL) is granted again.
 */
export class EtcdDiscovery implements Discovery {
  private readonly client: Etcd3;
  private readonly prefix: string;
  private readonly live = new Set<string>();
  private readonly goneListeners: Array<(nodeId: string) => void> = [];
  private readonly rejoinedListeners: Array<() => void> = [];
  private lease: Lease | undefined;
  private watcher: Watcher | undefined;
  private closed = false;
  private announcing = false;

  constructor(
    private readonly nodeId: string,
    private readonly options: EtcdDiscoveryOptions,
    private readonly log: Logger,
  ) {
    this.client = new Etcd3({ hosts: options.hosts.split(',').map((h) => h.trim()) });
    this.prefix = options.prefix ?? 'weim/nodes/';
  }

  async start(): Promise<void> {
    this.watcher = await this.client.watch().prefix(this.prefix).create();
    this.watcher.on('put', (kv) => this.live.add(kv.key.toString().slice(this.prefix.length)));
    this.watcher.on('delete', (kv) => this.gone(kv.key.toString().slice(this.prefix.length)));
    this.watcher.on('error', (err) => this.log.warn({ err }, 'etcd watch failed'));
    await this.announce();
    for (const key of await this.client.getAll().prefix(this.prefix).keys()) this.live.add(key.slice(this.prefix.length));
  }

  isLive(nodeId: string): boolean {
    return this.live.has(nodeId);
  }

  liveNodes(): string[] {
    return [...this.live];
  }

  async isRegistered(nodeId: string): Promise<boolean> {
    return (await this.client.get(`${this.prefix}${nodeId}`).string()) !== null;
  }

  onNodeGone(listener: (nodeId: string) => void): void {
    this.goneListeners.push(listener);
  }

  onRejoined(listener: () => void): void {
    this.rejoinedListeners.push(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel().catch(() => {});
    await this.lease?.revoke().catch(() => {});
    this.client.close();
  }

  /**
   * Grants a lease and puts this node's key under it. A lease that never got its key is released
   * (no keep-alive left running for it); only one that did is watched for loss.
   */
  private async announce(): Promise<void> {
    const lease = this.client.lease(this.options.leaseSeconds, { autoKeepAlive: true });
    let up = false;
    lease.on('lost', (err) => {
      if (!up || this.closed || this.lease !== lease) return;
      this.lease = undefined;
      this.log.warn({ err }, 'etcd lease lost: announcing this node again');
      this.reannounce();
    });
    try {
      await lease.put(`${this.prefix}${this.nodeId}`).value(JSON.stringify({ ...this.options.info, since: Date.now() }));
    } catch (err) {
      lease.release();
      throw err;
    }
    up = true;
    this.lease = lease;
    this.live.add(this.nodeId);
  }

  /**
   * One loop (never more) that announces the node again after its lease was lost, backing off from
   * 0.5 s to 5 s while etcd is out of reach, then tells `onRejoined`. Meanwhile the node keeps
   * serving with the membership it last saw.
   */
  private reannounce(): void {
    if (this.announcing || this.closed) return;
    this.announcing = true;
    let delay = 500;
    let failures = 0;
    const attempt = () => {
      if (this.closed) {
        this.announcing = false;
        return;
      }
      this.announce().then(
        () => {
          this.announcing = false;
          this.log.warn({ failures }, 'etcd: this node is announced again');
          this.tell(this.rejoinedListeners, undefined);
        },
        (err: unknown) => {
          // Logged once, then every 20 tries: etcd may be out for long.
          if (failures++ % 20 === 0) this.log.warn({ err, failures }, 'etcd: announcing this node failed; retrying');
          delay = Math.min(delay * 2, 5000);
          setTimeout(attempt, delay).unref();
        },
      );
    };
    attempt();
  }

  private gone(nodeId: string): void {
    // This node's own key goes with a lost lease; it announces itself again (see announce).
    if (nodeId === this.nodeId || !this.live.delete(nodeId)) return;
    this.tell(this.goneListeners, nodeId);
  }

  private tell<T>(listeners: Array<(arg: T) => void>, arg: T): void {
    for (const listener of listeners) {
      try {
        listener(arg);
      } catch (err) {
        this.log.warn({ err }, 'discovery listener failed');
      }
    }
  }
}
