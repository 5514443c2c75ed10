import { setBounded } from '../../bounded-map.js';
import type { Db } from '../../db/database.js';
import { friendPairsAmong } from './friends.repo.js';

/** Pairs looked up by one statement at most. */
const LOOKUP_CHUNK = 500;

interface Lookup {
  lo: number;
  hi: number;
  key: string;
  answer: Promise<boolean>;
  resolve: (friends: boolean) => void;
  reject: (err: unknown) => void;
  /** Set by `forget` while the lookup runs: its answer may predate the change and is not kept. */
  stale: boolean;
}

/**
 * Remembers, for `ttlMs`, pairs found to be friends, so that the checks in front of the message
 * writer (a friend message with a reply, an upload or a before-send hook; a typing indicator) do
 * not query the database every time. Only positive answers are kept; `forget` drops a pair the moment
 * this node ends the friendship, and when another node tells of one (through the bus; a node
 * that may have missed that drops every pair). Otherwise a change elsewhere is seen within `ttlMs`.
 * The cache only refuses early: the message writer checks the friendship again in the database,
 * in the transaction that stores the message (a closed conversation, or `friends` for a pair with
 * none stored), so a stale "friends" cannot store a message. That is why the TTL can be a minute:
 * at 5 s, every pair of a busy node was looked up again every 5 s (on the cluster bench, 12 µs of
 * the sender's CPU a message).
 *
 * Pairs not remembered are looked up together: every miss of one event-loop turn waits for one
 * statement. When a burst of messages found the cache cold (sign-in storms, every 5 s as entries
 * expire), one query per message queued for the pool: at 5,000 messages/s on MariaDB that was
 * about 1,000 single-row queries a second next to the message writer's batches.
 */
export class FriendshipCache {
  private readonly until = new Map<string, number>();
  private readonly inFlight = new Map<string, Lookup>();
  private queued: Lookup[] = [];

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 60_000,
    private readonly capacity = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async areFriends(a: number, b: number): Promise<boolean> {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const key = pairKey(a, b);
    const until = this.until.get(key);
    if (until !== undefined && until > this.clock()) return true;
    const running = this.inFlight.get(key);
    if (running !== undefined) return running.answer;
    const lookup = { lo, hi, key, stale: false } as Lookup;
    lookup.answer = new Promise<boolean>((resolve, reject) => {
      lookup.resolve = resolve;
      lookup.reject = reject;
    });
    if (this.queued.length === 0) setImmediate(() => void this.lookUpQueued());
    this.queued.push(lookup);
    this.inFlight.set(key, lookup);
    return lookup.answer;
  }

  forget(a: number, b: number): void {
    const key = pairKey(a, b);
    this.until.delete(key);
    const running = this.inFlight.get(key);
    if (running !== undefined) {
      running.stale = true;
      this.inFlight.delete(key);
    }
  }

  /** Drops every pair (another node's unfriending may have been missed). */
  forgetAll(): void {
    this.until.clear();
    for (const running of this.inFlight.values()) running.stale = true;
    this.inFlight.clear();
  }

  private settle(lookup: Lookup): void {
    if (this.inFlight.get(lookup.key) === lookup) this.inFlight.delete(lookup.key);
  }

  private async lookUpQueued(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    for (let i = 0; i < batch.length; i += LOOKUP_CHUNK) {
      const chunk = batch.slice(i, i + LOOKUP_CHUNK);
      const now = this.clock();
      try {
        const friends = await friendPairsAmong(this.db, chunk.map((l) => [l.lo, l.hi] as const));
        for (const l of chunk) {
          this.settle(l);
          const yes = friends.has(l.key);
          if (yes && !l.stale) {
            setBounded(this.until, l.key, now + this.ttlMs, this.capacity);
          }
          l.resolve(yes);
        }
      } catch (err) {
        for (const l of chunk) {
          this.settle(l);
          l.reject(err);
        }
      }
    }
  }
}

/** A pair's key, the same whichever way round: `${lower id}:${higher id}` (as friendPairsAmong answers). */
function pairKey(a: number, b: number): string {
  return a < b ? `${a}:${b}` : `${b}:${a}`;
}
