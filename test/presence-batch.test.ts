import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDirectory } from '../src/cluster/directory.memory.js';
import type { DbHandle } from '../src/db/connect.js';
import { PresenceService } from '../src/modules/presence/presence.service.js';
import type { Notification } from '../src/notify/notifier.js';
import { openTestDatabase, testDialects } from './helpers/database.js';

/** Counts the batch reads of `friends` (a Kysely plugin on the real database: each such read is compiled when run). */
class FriendReads implements KyselyPlugin {
  count = 0;
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (JSON.stringify(args.node).includes('"friends"') && args.node.kind === 'SelectQueryNode') this.count++;
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The single-node directory, counting lookups: one per window of users announced. */
class CountingDirectory extends MemoryDirectory {
  lookups = 0;
  override locate(userIds: readonly number[]): Promise<Map<string, number[]>> {
    this.lookups++;
    return super.locate(userIds);
  }
}

const USERS = 1100;
const FRIEND_OF = (userId: number) => 100_000 + userId;

/**
 * A node's sockets all closing (or signing in again) changes the presence of thousands of users in
 * one window: they are announced together, their friends read 500 users a statement (one per user
 * stalled the event loop for seconds), each friend told of each user, at most `maxFanout` each.
 */
describe.each(testDialects())('presence of many users in one window (%s)', (dialect) => {
  let dbh: DbHandle;
  beforeAll(async () => {
    dbh = await openTestDatabase(dialect);
    const rows = Array.from({ length: USERS }, (_, i) => ({ user_id: i + 1, friend_id: FRIEND_OF(i + 1), created_at: 1 }));
    // User 1 has eight friends; the fan-out cap is five: the five lowest ids are told.
    for (let f = 1; f <= 7; f++) rows.push({ user_id: 1, friend_id: 200_000 + f, created_at: 1 });
    for (let i = 0; i < rows.length; i += 500) await dbh.db.insertInto('friends').values(rows.slice(i, i + 500)).execute();
  });
  afterAll(async () => {
    await dbh?.close();
  });

  it('online, then offline: every friend told once, the friends read in a statement per 500 users', async () => {
    const reads = new FriendReads();
    const directory = new CountingDirectory('n1');
    const told: Notification[] = [];
    const presence = new PresenceService(dbh.db.withPlugin(reads), { notify: (n) => told.push(n) }, directory, 'n1', { coalesceMs: 30, maxFanout: 5 });
    const users = Array.from({ length: USERS }, (_, i) => i + 1);
    for (const userId of users) {
      await directory.register(userId);
      presence.changed(userId);
    }
    await expect.poll(() => told.length, { timeout: 10_000, interval: 20 }).toBe(USERS);
    // One window, or two when the changes straddled a 20-ms grain: a lookup each, a read per 500 users.
    expect(directory.lookups).toBeLessThanOrEqual(2);
    expect(reads.count).toBeLessThanOrEqual(Math.ceil(USERS / 500) + directory.lookups - 1);
    const byUser = new Map(told.map((n) => [(n.frame as { FromId: number }).FromId, n]));
    expect(byUser.size).toBe(USERS);
    expect(byUser.get(1)!.userIds).toEqual([100_001, 200_001, 200_002, 200_003, 200_004]);
    expect(byUser.get(777)!.userIds).toEqual([FRIEND_OF(777)]);
    expect(told.every((n) => (n.frame as { Body: string }).Body === 'online')).toBe(true);

    told.length = 0;
    reads.count = 0;
    directory.lookups = 0;
    for (const userId of users) {
      await directory.unregister(userId);
      presence.changed(userId);
    }
    // One user back before the window ends: not announced offline.
    await directory.register(500);
    await expect.poll(() => told.length, { timeout: 10_000, interval: 20 }).toBe(USERS - 1);
    expect(told.every((n) => (n.frame as { Body: string }).Body === 'offline')).toBe(true);
    expect(told.map((n) => (n.frame as { FromId: number }).FromId)).not.toContain(500);
    expect(directory.lookups).toBeLessThanOrEqual(2);
    expect(reads.count).toBeLessThanOrEqual(Math.ceil(USERS / 500) + directory.lookups - 1);

    // One user alone (the prepared read of one user's friends).
    told.length = 0;
    await directory.unregister(500);
    presence.changed(500);
    await expect.poll(() => told.length, { timeout: 5000, interval: 20 }).toBe(1);
    expect(told[0]).toMatchObject({ userIds: [FRIEND_OF(500)], frame: { FromId: 500, Body: 'offline' } });
    await presence.stop();
  });

  it('a claim that fails (its store out of reach) leaves that user unannounced, logged once, and the rest of the window told', async () => {
    class FailingClaims extends MemoryDirectory {
      override claimPresence(userId: number, online: boolean): Promise<boolean> {
        return userId % 100 === 0 ? Promise.reject(new Error('store out of reach')) : super.claimPresence(userId, online);
      }
    }
    const directory = new FailingClaims('n1');
    const told: Notification[] = [];
    const warnings: Array<{ users?: number }> = [];
    const presence = new PresenceService(dbh.db, { notify: (n) => told.push(n) }, directory, 'n1', { coalesceMs: 30, maxFanout: 5 }, { warn: (o: object) => warnings.push(o) });
    for (let userId = 1; userId <= 300; userId++) {
      await directory.register(userId);
      presence.changed(userId);
    }
    await expect.poll(() => told.length, { timeout: 10_000, interval: 20 }).toBe(297);
    await presence.stop();
    const ids = new Set(told.map((n) => (n.frame as { FromId: number }).FromId));
    expect(ids.size).toBe(297);
    for (const failed of [100, 200, 300]) expect(ids.has(failed)).toBe(false);
    // One warning per window, however many claims failed in it (one window, or two across a grain).
    expect(warnings.length).toBeGreaterThanOrEqual(1);
    expect(warnings.length).toBeLessThanOrEqual(2);
    expect(warnings.reduce((n, w) => n + (w.users ?? 0), 0)).toBe(3);
  });
});
