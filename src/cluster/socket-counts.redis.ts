import DataLoader from 'dataloader';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Discovery } from './discovery.js';
import type { SocketCounts } from './socket-counts.js';

/**
 * KEYS: this node's hash, then the other live nodes'. ARGV: field, this node's count with the new
 * socket, the cap, the hash's lifetime (ms). Writes the new count unless the sum passes the cap.
 */
const ACQUIRE = `local total = tonumber(ARGV[2])
for i = 2, #KEYS do total = total + tonumber(redis.call('HGET', KEYS[i], ARGV[1]) or '0') end
if total > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

/** How long a node's hash outlives its last refresh (a dead node's counts stop counting at once, by liveness; this frees them). */
const HASH_TTL_MS = 60_000;

/**
 * Counts in Redis, one hash per node: `<prefix>:sockets:<nodeId>` maps each key to the sockets
 * this node holds under it. A key's count is the sum over the nodes discovery sees alive, so a
 * node that dies stops counting as soon as its lease is gone (`cluster.lease_seconds`), and its
 * hash, no longer refreshed, expires. Nothing has to clear it, so a crash leaks nothing for good.
 *
 * This node's counts are kept here too, and are what Redis is told: each write sets the key's
 * count on this node (not an increment), so a lost or repeated write is put right by the next one.
 * Every `checkMs` the hash's lifetime is extended; when it is gone (Redis restarted empty) or a
 * write failed, it is written whole again. While Redis is out of reach a cap counts this node's
 * sockets only: a Redis outage neither refuses every socket nor lifts the caps entirely.
 */
export class RedisSocketCounts implements SocketCounts {
  private readonly counts = new Map<string, number>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The keys released in one turn of the event loop, whose counts are written together at its end (see `release`). */
  private readonly releases = new DataLoader<string, void>(
    async (keys) => {
      await this.writeReleases(new Set(keys));
      return keys.map(() => undefined);
    },
    { cache: false, batchScheduleFn: (write) => setImmediate(write) },
  );

  constructor(
    private readonly nodeId: string,
    private readonly redis: Redis,
    private readonly discovery: Pick<Discovery, 'liveNodes'>,
    private readonly log: Pick<Logger, 'warn'>,
    private readonly prefix = 'weim',
    private readonly checkMs = 1000,
  ) {}

  async start(): Promise<void> {
    await this.redis.del(this.hashOf(this.nodeId));
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
  }

  async acquire(key: string, max: number): Promise<boolean> {
    const mine = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, mine);
    let counted: boolean;
    try {
      const others = this.discovery.liveNodes().filter((n) => n !== this.nodeId).map((n) => this.hashOf(n));
      counted = (await this.redis.eval(ACQUIRE, 1 + others.length, this.hashOf(this.nodeId), ...others, key, mine, max, HASH_TTL_MS)) === 1;
    } catch (err) {
      if (!this.dirty) this.log.warn({ err }, 'socket counts: Redis out of reach, capping this node\'s sockets only');
      this.dirty = true;
      counted = mine <= max;
    }
    if (!counted) await this.release(key);
    return counted;
  }

  /**
   * Counts down now; Redis is told at the end of the turn, for every key released in it, in two
   * commands (each close writing its own made a mass disconnect stall the event loop).
   */
  release(key: string): Promise<void> {
    const left = (this.counts.get(key) ?? 0) - 1;
    if (left > 0) this.counts.set(key, left);
    else this.counts.delete(key);
    if (this.closed) return Promise.resolve();
    return this.releases.load(key);
  }

  /** Writes the released keys' counts as they are now (an acquire since then has written its own). */
  private async writeReleases(keys: ReadonlySet<string>): Promise<void> {
    if (this.closed) return;
    const hash = this.hashOf(this.nodeId);
    const counted: Record<string, number> = {};
    const gone: string[] = [];
    for (const key of keys) {
      const count = this.counts.get(key);
      if (count === undefined) gone.push(key);
      else counted[key] = count;
    }
    try {
      await Promise.all([
        gone.length > 0 ? this.redis.hdel(hash, ...gone) : undefined,
        gone.length < keys.size ? this.redis.hset(hash, counted) : undefined,
      ]);
    } catch {
      this.dirty = true;
    }
  }

  localCount(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.redis.del(this.hashOf(this.nodeId)).catch(() => {});
  }

  /** Extends the hash's lifetime; writes it whole when a write failed or it is gone while this node counts sockets. */
  private async check(): Promise<void> {
    if (this.closed) return;
    try {
      const kept = (await this.redis.pexpire(this.hashOf(this.nodeId), HASH_TTL_MS)) === 1;
      if (this.dirty || (!kept && this.counts.size > 0)) await this.rewrite();
    } catch {
      this.dirty = true;
    }
  }

  private async rewrite(): Promise<void> {
    this.dirty = false;
    const hash = this.hashOf(this.nodeId);
    const multi = this.redis.multi().del(hash);
    if (this.counts.size > 0) multi.hset(hash, Object.fromEntries(this.counts)).pexpire(hash, HASH_TTL_MS);
    const replies = await multi.exec();
    if (!replies || replies.some(([err]) => err)) throw new Error('rewriting the socket counts failed');
  }

  private hashOf(nodeId: string): string {
    return `${this.prefix}:sockets:${nodeId}`;
  }
}
