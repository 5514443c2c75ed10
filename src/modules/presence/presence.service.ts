import type { Logger } from 'pino';
import type { Directory } from '../../cluster/directory.js';
import { Tasks } from '../../tasks.js';
import type { Db } from '../../db/database.js';
import { presenceFrame } from '../../notify/frames.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import type { Notifier } from '../../notify/notifier.js';
import { friendIds, friendIdsOfMany } from '../friends/index.js';

export interface PresenceOptions {
  /** Changes within this window are announced once, as the state at its end. */
  coalesceMs: number;
  /** Most friends one change is announced to. */
  maxFanout: number;
}

/** Windows end on multiples of this (ms): changes of users whose windows end together are announced together. */
const GRAIN_MS = 20;

/**
 * Tells a user's friends when the user's first device comes online and the last goes offline
 * (Cmd 19). A user flapping within `coalesceMs` produces at most one notice per window, and only
 * when the state at its end differs from the last one announced.
 *
 * The state is the directory's, read at the end of the window: in a cluster a user whose last
 * socket on this node closed may still have one on another node. A node speaks for the users it
 * holds ("online") and for those nobody holds any more ("offline"), and the directory's presence
 * claim makes sure only one node announces each change, so a user on two nodes is announced online
 * once, and offline once, when the last device anywhere goes.
 */
export class PresenceService {
  /** Users in a window, not announced yet. */
  private readonly pending = new Set<number>();
  /** Windows by the time they end (epoch ms): their users and timer. */
  private readonly windows = new Map<number, { userIds: number[]; timer: NodeJS.Timeout }>();
  /** Set when the node stops: no new changes are taken. */
  private stopping = false;
  private readonly inFlight = new Tasks();

  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly directory: Directory,
    private readonly nodeId: string,
    private readonly options: PresenceOptions,
    private readonly log?: Pick<Logger, 'warn'>,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
  ) {}

  /**
   * A socket of the user signed in or closed on this node: the state is read when the window
   * ends. Windows end on a 20-ms grain, so the users of one (a node's sockets all closing, or
   * signing in again) are announced with a lookup, claims and a read of friends for all of them:
   * one each per user stalled a node's event loop for seconds.
   */
  changed(userId: number): void {
    if (this.stopping || this.pending.has(userId)) return;
    this.pending.add(userId);
    const now = Date.now();
    const endsAt = Math.ceil((now + this.options.coalesceMs) / GRAIN_MS) * GRAIN_MS;
    const window = this.windows.get(endsAt);
    if (window) {
      window.userIds.push(userId);
      return;
    }
    const timer = setTimeout(() => {
      this.windows.delete(endsAt);
      void this.announceLogged(userIds);
    }, endsAt - now);
    timer.unref();
    const userIds = [userId];
    this.windows.set(endsAt, { userIds, timer });
  }

  /**
   * Users who went offline with a node that died (this node cleared it): no node holds them, and
   * the node that announced them online is gone, so this one tells their friends.
   */
  lost(userIds: readonly number[]): void {
    for (const userId of userIds) this.changed(userId);
  }

  /** Announces, logging a failure; kept in `inFlight` until done (stop waits for it). */
  private announceLogged(userIds: readonly number[]): Promise<void> {
    return this.inFlight.run(this.announce(userIds), (err) => this.log?.warn({ err, users: userIds.length }, 'announcing presence failed'));
  }

  private async announce(userIds: readonly number[]): Promise<void> {
    for (const userId of userIds) this.pending.delete(userId);
    const located = await this.directory.locate(userIds);
    const here = new Set(located.get(this.nodeId));
    const anywhere = new Set([...located.values()].flat());
    // Held elsewhere only: a node that holds them speaks for them.
    const changes = userIds.filter((userId) => here.has(userId) || !anywhere.has(userId));
    const claimed = await Promise.allSettled(changes.map((userId) => this.claim(userId, anywhere.has(userId))));
    const failed = claimed.filter((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed.length > 0) this.log?.warn({ err: failed[0]!.reason, users: failed.length }, 'announcing presence failed');
    const told = changes.filter((_, i) => {
      const claim = claimed[i]!;
      return claim.status === 'fulfilled' && claim.value;
    });
    if (told.length === 0) return;
    const friends = await friendIdsOfMany(this.db, told, this.options.maxFanout);
    for (const userId of told) this.notifier.notify({ userIds: friends.get(userId)!, frame: presenceFrame(userId, anywhere.has(userId)) });
  }

  /** The cluster-wide claim to announce the change, then its webhook event; false if another node has it (or nothing changed). */
  private async claim(userId: number, online: boolean): Promise<boolean> {
    if (!(await this.directory.claimPresence(userId, online))) return false;
    // `at`: when this node settled it (after the cluster-wide claim), for a receiver to order a user's flips by.
    await this.webhooks.record(this.db, online ? 'user.online' : 'user.offline', orderKey.user(userId), { user_id: userId, node: this.nodeId, at: Date.now() });
    return true;
  }

  /** Which of the user's friends (or of `ids` among them) are online now. */
  async onlineFriends(userId: number, ids?: number[]): Promise<Array<{ id: number; online: boolean }>> {
    let friends = await friendIds(this.db, userId, 5000);
    if (ids) {
      const wanted = new Set(ids);
      friends = friends.filter((id) => wanted.has(id));
    }
    const online = new Set([...(await this.directory.locate(friends)).values()].flat());
    return friends.map((id) => ({ id, online: online.has(id) }));
  }

  /**
   * The node is shutting down: changes still in their window are announced now (their sockets
   * closed before the shutdown began), and nothing after. Resolves when those are done.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { timer } of this.windows.values()) clearTimeout(timer);
    this.windows.clear();
    if (this.pending.size > 0) void this.announceLogged([...this.pending]);
    await this.inFlight.settled();
  }
}
