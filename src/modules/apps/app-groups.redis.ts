import type { ChainableCommander, Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Discovery } from '../../cluster/discovery.js';
import { withRedisLock } from '../../cluster/redis-lock.js';
import { type AppGroups, distinctSorted, type LocalConnections } from './app-groups.js';

const CLEAR_LOCK_SECONDS = 30;
/** Every this many checks a node looks for dead nodes nobody cleared (a clear skipped for a held lock, or one that failed). */
const ORPHAN_SWEEP_EVERY = 30;
/** Connections written again per pipeline on a restore. */
const CHUNK = 500;

/**
 * A member in, its node's count up and the group in the app's list, at once (a leave running
 * beside a join on the same node could otherwise drop the node's field while it still holds a
 * member); and the entry in the node's index. KEYS: members, nodes, the app's groups, the node's
 * index. ARGV: clientId, node, group, index entry.
 */
const JOIN = `if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  redis.call('SADD', KEYS[3], ARGV[3])
end
redis.call('SADD', KEYS[4], ARGV[4])`;
/** A member out, its node's count down (the field gone at 0), the group off the app's list when empty, the entry off the index. */
const LEAVE = `if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
  if redis.call('SCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[3]) end
end
redis.call('SREM', KEYS[4], ARGV[4])`;

/** What a node's index holds: a membership, a user binding, an info hash (JSON arrays: names may hold anything). */
type Entry = ['g', app: string, group: string, clientId: string] | ['u', app: string, clientId: string] | ['i', app: string, clientId: string];

/**
 * In Redis: `<prefix>:app:<app>:g:<group>` is the set of member clientIds,
 * `<prefix>:app:<app>:gn:<group>` a hash node → members there (a node's field goes when its count
 * reaches 0), `<prefix>:app:<app>:groups` the app's groups with members, `<prefix>:app:<app>:users`
 * clientId → app user, `<prefix>:app:<app>:info:<clientId>` a connection's info.
 *
 * `<prefix>:appnode:<node>` indexes what each node wrote, so that a node's entries can be cleared
 * without a scan: by the first live node to see it gone for good (its lease lapsed and it is not
 * registered again; nodes nobody cleared are swept every ORPHAN_SWEEP_EVERY checks, from the set
 * `<prefix>:appnodes` of the nodes that wrote entries, and once at start by a scan), and by the
 * node itself when it starts again under the same id (its earlier run's connections would
 * otherwise count as live again: ghosts). `<prefix>:appup:<node>` says the node's entries are all
 * there: written last by its start and its restores, deleted first by a clear. A node that finds
 * it missing while it holds connections (Redis restarted empty, or the others cleared it while it
 * was out of the cluster) writes its entries again; a single write of the node since (which adds
 * to the index) does not hide the loss.
 */
export class RedisAppGroups implements AppGroups {
  private node = '';
  private local: LocalConnections = { all: () => [], get: () => undefined };
  /** A write failed or the connection dropped: the next check writes this node's entries again. */
  private dirty = false;
  private checks = 0;
  private timer: NodeJS.Timeout | undefined;
  private restoring: Promise<void> | undefined;
  private closed = false;
  private readonly clearing = new Set<Promise<void>>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly discovery: Pick<Discovery, 'isLive' | 'isRegistered' | 'onNodeGone' | 'onRejoined'>,
    private readonly log: Pick<Logger, 'info' | 'warn'>,
    private readonly checkMs = 1000,
  ) {}

  async start(node: string, local: LocalConnections): Promise<void> {
    this.node = node;
    this.local = local;
    this.redis.on('close', () => {
      this.dirty = true;
    });
    await this.withLock(node, true, async () => {
      await this.clearNode(node);
      await execOrThrow(this.redis.multi().set(this.up_(node), '1').sadd(this.nodeSet_(), node));
    });
    this.discovery.onNodeGone((gone) => this.inBackground(() => this.clearDead(gone)));
    this.discovery.onRejoined(() => this.restore('this node was dropped from the cluster and is back'));
    this.inBackground(() => this.clearOrphans(true));
    this.timer = setInterval(() => void this.check(), this.checkMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.clearing, this.restoring]);
  }

  async join(app: string, group: string, clientId: string, node: string): Promise<void> {
    await this.written(this.redis.eval(JOIN, 4, ...this.membership(app, group, clientId, node)));
  }

  async leave(app: string, groups: readonly string[], clientId: string, node: string): Promise<void> {
    for (const group of groups) await this.written(this.redis.eval(LEAVE, 4, ...this.membership(app, group, clientId, node)));
  }

  /** The keys and arguments of JOIN and LEAVE for one membership of a connection held by `node`. */
  private membership(app: string, group: string, clientId: string, node: string): [string, string, string, string, string, string, string, string] {
    return [this.members_(app, group), this.nodes_(app, group), this.groups_(app), this.index_(node), clientId, node, group, entry(['g', app, group, clientId])];
  }

  async members(app: string, group: string): Promise<string[]> {
    return this.redis.smembers(this.members_(app, group));
  }

  async nodes(app: string, group: string): Promise<string[]> {
    return this.redis.hkeys(this.nodes_(app, group));
  }

  async groupsOf(app: string): Promise<string[]> {
    return (await this.redis.smembers(this.groups_(app))).sort();
  }

  async info(app: string, clientId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.info_(app, clientId));
  }

  async writeInfo(app: string, clientId: string, info: Record<string, string>, merge: boolean): Promise<void> {
    await this.written(execOrThrow(this.infoWrite(this.redis.multi(), app, clientId, info, merge)));
  }

  async dropInfo(app: string, clientId: string): Promise<void> {
    await this.written(execOrThrow(this.redis.multi().del(this.info_(app, clientId)).srem(this.index_(this.node), entry(['i', app, clientId]))));
  }

  async setUser(app: string, clientId: string, userId: string): Promise<void> {
    if (userId) await this.written(execOrThrow(this.userWrite(this.redis.multi(), app, clientId, userId)));
    else await this.written(execOrThrow(this.redis.multi().hdel(this.users_(app), clientId).srem(this.index_(this.node), entry(['u', app, clientId]))));
  }

  /** Adds to `commands` the writing of a connection's info here (replaced, or merged into), indexed. */
  private infoWrite(commands: ChainableCommander, app: string, clientId: string, info: Record<string, string>, merge: boolean): ChainableCommander {
    const key = this.info_(app, clientId);
    if (!merge) commands.del(key);
    if (Object.keys(info).length > 0) commands.hset(key, info);
    return commands.sadd(this.index_(this.node), entry(['i', app, clientId]));
  }

  /** Adds to `commands` the binding of a connection here to the app's user, indexed. */
  private userWrite(commands: ChainableCommander, app: string, clientId: string, userId: string): ChainableCommander {
    return commands.hset(this.users_(app), clientId, userId).sadd(this.index_(this.node), entry(['u', app, clientId]));
  }

  async usersOf(app: string, clientIds: readonly string[]): Promise<string[]> {
    if (clientIds.length === 0) return [];
    return distinctSorted(await this.redis.hmget(this.users_(app), ...clientIds));
  }

  async isMember(app: string, group: string, clientId: string): Promise<boolean> {
    return (await this.redis.sismember(this.members_(app, group), clientId)) === 1;
  }

  /** A write of this node's entries: a failure leaves the node dirty (the next check writes them all again). */
  private async written<T>(write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (err) {
      this.dirty = true;
      throw err;
    }
  }

  /**
   * Writes this node's entries again when a write failed, or its marker is gone while it holds
   * connections; now and then, sweeps dead nodes nobody cleared.
   */
  private async check(): Promise<void> {
    if (this.closed) return;
    if (++this.checks % ORPHAN_SWEEP_EVERY === 0 && this.clearing.size === 0) this.inBackground(() => this.clearOrphans());
    if (this.restoring) return;
    try {
      if (this.dirty) return this.restore('a write to Redis failed or the connection dropped');
      const first = this.local.all()[Symbol.iterator]().next();
      if (!first.done && (await this.redis.exists(this.up_(this.node))) === 0) this.restore('this node\'s entries were missing from Redis');
    } catch {
      // Redis is out of reach: the next check tries again.
    }
  }

  /**
   * Makes Redis hold exactly this node's entries (one run at a time, under the node's lock):
   * every local connection's written again, then what the index holds beyond them taken out (a
   * leave or close whose write failed while Redis was out of reach).
   */
  private restore(reason: string): void {
    if (this.closed || this.restoring) return;
    this.dirty = false;
    this.restoring = this.withLock(this.node, true, async () => {
      const done = { written: await this.writeLocal(), removed: await this.prune() };
      await execOrThrow(this.redis.multi().set(this.up_(this.node), '1').sadd(this.nodeSet_(), this.node));
      return done;
    })
      .then(
        (done) => this.log.warn({ reason, ...done }, 'realtime gateway: wrote this node\'s connections to Redis again'),
        (err: unknown) => {
          this.dirty = true;
          this.log.warn({ err, reason }, 'realtime gateway: writing this node\'s connections again failed; the next check retries');
        },
      )
      .finally(() => {
        this.restoring = undefined;
      });
  }

  private async writeLocal(): Promise<number> {
    const all = [...this.local.all()].filter((c) => !c.closed);
    for (let i = 0; i < all.length; i += CHUNK) {
      const pipeline = this.redis.pipeline();
      for (const c of all.slice(i, i + CHUNK)) {
        for (const group of c.groups) pipeline.eval(JOIN, 4, ...this.membership(c.app, group, c.clientId, this.node));
        if (c.userId) this.userWrite(pipeline, c.app, c.clientId, c.userId);
        if (c.info) this.infoWrite(pipeline, c.app, c.clientId, c.info, false);
      }
      await execOrThrow(pipeline);
    }
    return all.length;
  }

  /**
   * Takes out the index's entries no local connection wants now. Each page is judged against the
   * connections as they are in the same turn as its removals are sent: a join made meanwhile is in
   * the connection's groups before its own write is sent, so it is never taken out.
   */
  private prune(): Promise<number> {
    return this.removeEntries(this.node, (e) => {
      const c = this.local.get(e[1], e[0] === 'g' ? e[3] : e[2]);
      return c !== undefined && !c.closed && (e[0] === 'g' ? c.groups.has(e[2]) : e[0] === 'u' ? c.userId !== '' : c.info !== undefined);
    });
  }

  /** Takes out `node`'s index entries (and what they stand for) but those `keep` wants, page by page; answers how many. */
  private async removeEntries(node: string, keep: (e: Entry) => boolean): Promise<number> {
    let cursor = '0';
    let removed = 0;
    do {
      const [next, entries] = await this.redis.sscan(this.index_(node), cursor, 'COUNT', CHUNK);
      cursor = next;
      const pipeline = this.redis.pipeline();
      for (const raw of entries) {
        const e = JSON.parse(raw) as Entry;
        if (keep(e)) continue;
        removed++;
        this.removal(pipeline, node, raw, e);
      }
      await execOrThrow(pipeline);
    } while (cursor !== '0');
    return removed;
  }

  /** Adds to `pipeline` the commands that take one index entry of `node` out, with what it stands for. */
  private removal(pipeline: ReturnType<Redis['pipeline']>, node: string, raw: string, e: Entry): void {
    const index = this.index_(node);
    if (e[0] === 'g') pipeline.eval(LEAVE, 4, ...this.membership(e[1], e[2], e[3], node));
    else if (e[0] === 'u') pipeline.hdel(this.users_(e[1]), e[2]).srem(index, raw);
    else pipeline.del(this.info_(e[1], e[2])).srem(index, raw);
  }

  /** Clears a node that is not live, unless another node does it, or it is back already. */
  private clearDead(node: string): Promise<void> {
    return this.withLock(node, false, async () => {
      if (!this.discovery.isLive(node) && !(await this.discovery.isRegistered(node))) await this.clearNode(node);
    });
  }

  /**
   * Nodes that died with nobody clearing them: those in the set of nodes with entries
   * (`<prefix>:appnodes`). `scan` (at start only): also those whose index or marker is all that is
   * left, found by scanning the keyspace (entries written before that set existed). A scan every
   * sweep cost each node a SCAN per 200 keys of the whole keyspace every 30 s (0.3 SCANs a message
   * on a 50,000-user bench at 500 messages/s).
   */
  private async clearOrphans(scan = false): Promise<void> {
    const nodes = new Set<string>(await this.redis.smembers(this.nodeSet_()));
    for (const kind of scan ? ['appnode', 'appup'] : []) {
      const prefix = `${this.prefix}:${kind}:`;
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
        cursor = next;
        for (const key of keys) nodes.add(key.slice(prefix.length));
      } while (cursor !== '0' && !this.closed);
    }
    nodes.delete(this.node);
    for (const node of nodes) if (!this.closed && !this.discovery.isLive(node)) await this.clearDead(node);
  }

  /**
   * Removes everything a node wrote (idempotent: a membership gone already is not counted down
   * twice), its marker first. Entries leave the index one by one as they are removed (the index
   * goes when empty): an entry the node adds meanwhile (it was not dead after all) stays indexed.
   */
  private async clearNode(node: string): Promise<void> {
    await this.redis.del(this.up_(node));
    const cleared = await this.removeEntries(node, () => false);
    // Off the set of nodes with entries (a node that was not dead after all puts itself back when
    // it finds its marker gone and writes its entries again).
    if (node !== this.node) await this.redis.srem(this.nodeSet_(), node);
    if (cleared > 0) this.log.info({ node, entries: cleared }, 'realtime gateway: cleared a node\'s connections from Redis');
  }

  private withLock<T>(node: string, wait: boolean, work: () => Promise<T>): Promise<T | undefined> {
    return withRedisLock(this.redis, `${this.prefix}:appnode-lock:${node}`, this.node, { wait, seconds: CLEAR_LOCK_SECONDS }, work);
  }

  private inBackground(work: () => Promise<void>): void {
    if (this.closed) return;
    const running = work()
      .catch((err: unknown) => this.log.warn({ err }, 'realtime gateway: clearing a node\'s connections from Redis failed'))
      .finally(() => this.clearing.delete(running));
    this.clearing.add(running);
  }

  /** The nodes that may have entries (written by each at its start and restores; a clear takes its node out). */
  private nodeSet_(): string {
    return `${this.prefix}:appnodes`;
  }

  /** Set while all of the node's entries are there (see the class). */
  private up_(node: string): string {
    return `${this.prefix}:appup:${node}`;
  }

  private index_(node: string): string {
    return `${this.prefix}:appnode:${node}`;
  }

  private groups_(app: string): string {
    return `${this.prefix}:app:${app}:groups`;
  }

  /** clientId → the app user it is bound to. */
  private users_(app: string): string {
    return `${this.prefix}:app:${app}:users`;
  }

  private info_(app: string, clientId: string): string {
    return `${this.prefix}:app:${app}:info:${clientId}`;
  }

  private members_(app: string, group: string): string {
    return `${this.prefix}:app:${app}:g:${group}`;
  }

  private nodes_(app: string, group: string): string {
    return `${this.prefix}:app:${app}:gn:${group}`;
  }
}

/** Runs a pipeline and throws its first command's error (ioredis answers them per command, without rejecting). */
async function execOrThrow(pipeline: { exec(): Promise<Array<[Error | null, unknown]> | null> }): Promise<void> {
  for (const [err] of (await pipeline.exec()) ?? []) if (err) throw err;
}

function entry(e: Entry): string {
  return JSON.stringify(e);
}
