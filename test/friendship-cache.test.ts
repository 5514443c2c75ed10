import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { FriendshipCache } from '../src/modules/friends/friendship-cache.js';
import { insertFriendship } from '../src/modules/friends/friends.repo.js';
import { insertUser } from '../src/modules/users/index.js';
import { openTestDatabase, testDialects } from './helpers/database.js';

/** Counts the statements a Kysely instance runs, and can hold every result until `open()`. */
function observer() {
  let gate: Promise<void> | undefined;
  let openGate = () => {};
  const state = { statements: 0, waiting: 0 };
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      state.statements++;
      return args.node;
    },
    transformResult: async (args) => {
      state.waiting++;
      await gate;
      return args.result;
    },
  };
  return {
    plugin,
    state,
    hold: () => (gate = new Promise((r) => (openGate = r))),
    open: () => (openGate(), (gate = undefined)),
  };
}

describe.each(testDialects())('friendship cache on %s', (dialect) => {
  let dbh: DbHandle;
  const users: number[] = [];
  beforeAll(async () => {
    dbh = await openTestDatabase(dialect);
    for (let i = 0; i < 12; i++) users.push(await insertUser(dbh.db, { username: `fc_${i}_${Date.now() % 100000}`, password_hash: 'x', nickname: `n${i}`, created_at: 0, updated_at: 0 }));
    // Friends: each even user with the next one.
    for (let i = 0; i < users.length; i += 2) await insertFriendship(dbh.db, users[i]!, users[i + 1]!, 0);
  });
  afterAll(async () => {
    await dbh?.close();
  });

  it('answers a burst of lookups from one statement, right for friends and strangers alike, then from memory', async () => {
    const o = observer();
    const cache = new FriendshipCache(dbh.db.withPlugin(o.plugin));
    const asks: Array<[number, number, boolean]> = [];
    for (let i = 0; i < users.length; i++) for (let j = 0; j < users.length; j++) if (i !== j) asks.push([users[i]!, users[j]!, Math.floor(i / 2) === Math.floor(j / 2)]);
    const answers = await Promise.all(asks.map(([a, b]) => cache.areFriends(a, b)));
    expect(answers).toEqual(asks.map(([, , expected]) => expected));
    expect(o.state.statements).toBe(1);
    // Friends are remembered; strangers are asked again (in one statement per turn).
    expect(await Promise.all(asks.map(([a, b]) => cache.areFriends(a, b)))).toEqual(asks.map(([, , e]) => e));
    expect(o.state.statements).toBe(2);
  });

  it('a friendship ended while its lookup runs is not remembered from that lookup', async () => {
    const [a, b] = [users[0]!, users[1]!];
    const o = observer();
    const cache = new FriendshipCache(dbh.db.withPlugin(o.plugin));
    o.hold();
    const during = cache.areFriends(a, b);
    while (o.state.waiting === 0) await new Promise((r) => setTimeout(r, 5));
    // The lookup has read the friendship; now this node ends it (the rows go in the service's
    // transaction; here only the cache's part matters, and SQLite's one connection is held).
    cache.forget(a, b);
    o.open();
    expect(await during).toBe(true); // what it read before the change
    const before = o.state.statements;
    expect(await cache.areFriends(a, b)).toBe(true); // asked again, not answered from memory
    expect(o.state.statements).toBe(before + 1);
    expect(await cache.areFriends(b, a)).toBe(true); // remembered now
    expect(o.state.statements).toBe(before + 1);
  });

  it('forgetAll drops every remembered pair: each is asked of the database again', async () => {
    const o = observer();
    const cache = new FriendshipCache(dbh.db.withPlugin(o.plugin));
    expect(await Promise.all([cache.areFriends(users[6]!, users[7]!), cache.areFriends(users[8]!, users[9]!)])).toEqual([true, true]);
    const remembered = o.state.statements;
    expect(await cache.areFriends(users[7]!, users[6]!)).toBe(true);
    expect(o.state.statements).toBe(remembered);
    cache.forgetAll();
    expect(await Promise.all([cache.areFriends(users[6]!, users[7]!), cache.areFriends(users[8]!, users[9]!)])).toEqual([true, true]);
    expect(o.state.statements).toBe(remembered + 1);
  });

  it('a failed lookup fails its callers and is not remembered', async () => {
    const broken = new FriendshipCache(dbh.db.withPlugin({ transformQuery: () => { throw new Error('db down'); }, transformResult: async (x) => x.result }));
    await expect(Promise.all([broken.areFriends(users[2]!, users[3]!), broken.areFriends(users[4]!, users[5]!)])).rejects.toThrow('db down');
    const cache = new FriendshipCache(dbh.db);
    expect(await cache.areFriends(users[2]!, users[3]!)).toBe(true);
  });
});
