import type { Logger } from 'pino';
import type { RecoveryKind } from '../ops/metrics.js';
import type { Cluster } from './cluster.js';

/** What a node does for the cluster's events (the gateway, presence, tokens and friends behind it). */
export interface ClusterHooks {
  /** Sends Cmd 24 to every signed-in socket here; returns how many. */
  askToSync(): number;
  /** Re-reads what the sockets here miss of their streams and sends it live; returns how many sockets. */
  repairStreams(): Promise<number>;
  /** Users who went offline with a node that died (this node cleared it). */
  usersLost(userIds: number[]): void;
  /** Closes the sockets here signed in with `jti` ('*': every session of the user). */
  /** A session (`jti`, or '*' for all of the user's) ended on another node at `at`: refuse it here too, close its sockets. */
  endSession(userId: number, jti: string, at?: number): void;
  /** Closes the sockets here whose session ended meanwhile; returns how many. */
  endRevokedSessions(): Promise<number>;
  forgetFriendship(a: number, b: number): void;
  forgetAllFriendships(): void;
  /** Subscribes to sessions ending here (one, or every one of a user: jti '*'). */
  /** `at`: for '*', the cutoff the user's sessions were ended at (tokens issued before it are refused). */
  onSessionEnded(listener: (userId: number, jti: string, at?: number) => void): void;
  /** Subscribes to friendships ending here. */
  onFriendshipEnded(listener: (a: number, b: number) => void): void;
  /** Told of each recovery step (for metrics). */
  recovered?(kind: RecoveryKind): void;
}

/** Requests for a resync closer than this are answered once, after the last of them… */
const SYNC_QUIET_MS = 300;
/** …but no later than this after the first. */
const SYNC_MAX_WAIT_MS = 1500;
/** Within this long of a Cmd 24, a further request (another node reconnected to Redis later) does not ask again. */
const FOLLOW_UP_MS = 10_000;

/**
 * Connects a node to its cluster's events: sessions and friendships that end anywhere end
 * everywhere; users of a dead node are announced offline; after another node died, the sockets
 * here are repaired from the database (its last commits may never have been pushed); and when
 * pushes may have been lost (Redis dropped, this node's directory entries were gone), the sockets
 * here are asked to sync (Cmd 24), once per burst of causes, and only after this node's entries
 * are back in the directory, so that nothing sent after the sync is routed past them; and every
 * such request also repairs the sockets here from the database, so what was lost reaches them
 * live whether or not they sync. A cause that comes later (another node reached Redis again later)
 * is answered by the repair alone: each socket gets one Cmd 24 per outage.
 */
export async function wireCluster(cluster: Cluster, hooks: ClusterHooks, log: Logger): Promise<{ stop(): void }> {
  const { bus, directory, discovery } = cluster;
  const warn = (what: string) => (err: unknown) => log.warn({ err }, what);

  hooks.onSessionEnded((userId, jti, at) => bus.announce({ kind: 'session-ended', userId, jti, ...(at === undefined ? {} : { at }) }).catch(warn('telling the cluster about an ended session failed')));
  hooks.onFriendshipEnded((a, b) => bus.announce({ kind: 'friendship-ended', a, b }).catch(warn('telling the cluster about an ended friendship failed')));
  await bus.onEvent((event) => {
    switch (event.kind) {
      case 'session-ended':
        return hooks.endSession(event.userId, event.jti, event.at);
      case 'friendship-ended':
        return hooks.forgetFriendship(event.a, event.b);
      case 'broadcast': // delivered by Delivery
      case 'pushes-lost': // arrives as onResync
        return;
      default:
        return event satisfies never;
    }
  });
  directory.onUsersLost((userIds) => hooks.usersLost(userIds));

  discovery.onNodeGone((nodeId) => {
    hooks.recovered?.('node-gone');
    hooks.repairStreams().then(
      (sockets) => log.info({ nodeId, sockets }, 'another node left: repaired the streams of this node\'s sockets'),
      warn('repairing sockets after a node left failed'),
    );
  });

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let firstAt = 0;
  let askedAt = -Infinity;
  const reasons = new Set<string>();
  const resync = async () => {
    timer = undefined;
    const why = [...reasons];
    reasons.clear();
    await directory.settled();
    if (stopped) return;
    if (Date.now() - askedAt >= FOLLOW_UP_MS) {
      askedAt = Date.now();
      hooks.recovered?.('sync-asked');
      log.info({ sockets: hooks.askToSync(), reasons: why }, 'asked this node\'s sockets to sync');
    }
    // Read for them as well: clients that do not sync on Cmd 24 (weIm-go's) get what was lost
    // live, and so does every socket for a push lost after its sync read (a subscription that came
    // back later than the directory). A socket drops what it has.
    hooks.recovered?.('sockets-repaired');
    log.info({ sockets: await hooks.repairStreams(), reasons: why }, 'repaired this node\'s sockets');
    // An ended friendship or session may have been among what was lost.
    hooks.forgetAllFriendships();
    const ended = await hooks.endRevokedSessions();
    if (ended > 0) log.info({ ended }, 'closed sockets whose session ended on another node');
  };
  const requestSync = (reason: string) => {
    if (stopped) return;
    reasons.add(reason);
    const now = Date.now();
    if (!timer) firstAt = now;
    clearTimeout(timer);
    timer = setTimeout(() => void resync().catch(warn('resyncing this node\'s sockets failed')), Math.max(0, Math.min(SYNC_QUIET_MS, firstAt + SYNC_MAX_WAIT_MS - now)));
    timer.unref();
  };
  bus.onResync(() => requestSync('pushes between nodes may have been lost'));
  directory.onRebuilt((reason) => {
    hooks.recovered?.('directory-rebuilt');
    requestSync(reason);
  });
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
