import type { Logger } from 'pino';
import type { Directory } from '../../cluster/directory.js';
import { Tasks } from '../../tasks.js';
import type { Db } from '../../db/database.js';
import { presenceFrame } from '../../notify/frames.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import type { Notifier } from '../../notify/notifier.js';
import { friendIds } from '../friends/index.js';

export interface PresenceOptions {
  /** Changes within this window are announced once, as the state at its end. */
  coalesceMs: number;
  /** Most friends one change is announced to. */
  maxFanout: number;
}

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
  private readonly timers = new Map<number, NodeJS.Timeout>();
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

  /** A socket of the user signed in or closed on this node: the state is read when the window ends. */
  changed(userId: number): void {
    if (this.stopping || this.timers.has(userId)) return;
    const timer = setTimeout(() => void this.announceLogged(userId), this.options.coalesceMs);
    timer.unref();
    this.timers.set(userId, timer);
  }

  /**
   * Users who went offline with a node that died (this node cleared it): no node holds them, and
   * the node that announced them online is gone, so this one tells their friends.
   */
  lost(userIds: readonly number[]): void {
    for (const userId of userIds) this.changed(userId);
  }

  /** Announces, logging a failure; kept in `inFlight` until done (stop waits for it). */
  private announceLogged(userId: number): Promise<void> {
    return this.inFlight.run(this.announce(userId), (err) => this.log?.warn({ err, userId }, 'announcing presence failed'));
  }

  private async announce(userId: number): Promise<void> {
    this.timers.delete(userId);
    const nodes = await this.directory.locate([userId]);
    const online = nodes.size > 0;
    // Held elsewhere only: a node that holds them speaks for them.
    if (online && !nodes.has(this.nodeId)) return;
    if (!(await this.directory.claimPresence(userId, online))) return;
    // `at`: when this node settled it (after the cluster-wide claim), for a receiver to order a user's flips by.
    await this.webhooks.record(this.db, online ? 'user.online' : 'user.offline', orderKey.user(userId), { user_id: userId, node: this.nodeId, at: Date.now() });
    const friends = await friendIds(this.db, userId, this.options.maxFanout);
    this.notifier.notify({ userIds: friends, frame: presenceFrame(userId, online) });
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
    const pending = [...this.timers.keys()];
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    for (const userId of pending) void this.announceLogged(userId);
    await this.inFlight.settled();
  }
}
