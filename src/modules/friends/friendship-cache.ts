import type { Db } from '../../db/database.js';
import { areFriends } from './friends.repo.js';

/**
 * Remembers, for `ttlMs`, pairs found to be friends, so the message hot path does not query the
 * database for every message. Only positive answers are kept; `forget` drops a pair the moment
 * this node ends the friendship. (Another node's unfriending is seen within `ttlMs`.)
 */
export class FriendshipCache {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 5000,
    private readonly capacity = 100_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async areFriends(a: number, b: number): Promise<boolean> {
    const key = a < b ? `${a}:${b}` : `${b}:${a}`;
    const now = this.clock();
    const until = this.until.get(key);
    if (until !== undefined && until > now) return true;
    const friends = await areFriends(this.db, a, b);
    if (friends) {
      this.until.delete(key);
      if (this.until.size >= this.capacity) this.until.delete(this.until.keys().next().value!);
      this.until.set(key, now + this.ttlMs);
    } else if (until !== undefined) {
      this.until.delete(key);
    }
    return friends;
  }

  forget(a: number, b: number): void {
    this.until.delete(a < b ? `${a}:${b}` : `${b}:${a}`);
  }
}
