import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DbHandle } from '../src/db/connect.js';
import type { Db, Executor } from '../src/db/database.js';
import type { Worker } from 'node:worker_threads';
import { ConversationKind, friendConversationKey, groupConversationKey, setFriendConversationClosed } from '../src/modules/conversations/index.js';
import { type MessageStore, MessageWriter, ThreadedMessageWriter } from '../src/modules/messages/index.js';
import { hasInsertReturning, mysqlStatements } from '../src/modules/messages/batch-statements.mysql.js';
import type { PendingMessage, WriteResult } from '../src/modules/messages/message-writer.js';
import { markWithdrawn } from '../src/modules/messages/messages.repo.js';
import { deleteFriendship, insertFriendship } from '../src/modules/friends/friends.repo.js';
import { mysqlUrlFor, openTestDatabase, testDialects } from './helpers/database.js';
import { recordStatements, verbs } from './helpers/mysql-statements.js';

function friend(from: number, to: number, body: string, clientMsgId: string | null = null): PendingMessage {
  return {
    convKey: friendConversationKey(from, to), kind: ConversationKind.Friend, userLo: Math.min(from, to), userHi: Math.max(from, to), groupId: null,
    senderId: from, toId: to, type: 0, body, clientMsgId, replyTo: null, mentions: null,
  };
}

function group(from: number, groupId: number, body: string, clientMsgId: string | null = null): PendingMessage {
  return {
    convKey: groupConversationKey(groupId), kind: ConversationKind.Group, userLo: null, userHi: null, groupId,
    senderId: from, toId: groupId, type: 0, body, clientMsgId, replyTo: null, mentions: null,
  };
}

/** The (group, sender) pairs this file's group messages use: the writer stores members' messages only. */
const MEMBERS: Array<[number, number]> = [[3, 1], [900, 3], [900, 4], [900, 8], [901, 7], [901, 9], [920, 21], [930, 31], [935, 8], [940, 41], [940, 42], [940, 43], [941, 43], [942, 43], [950, 51]];
/** Users 1 to this are all friends of each other: the writer stores friends' messages only. */
const FRIENDS_UP_TO = 96;

/** Seeds what entitles this file's senders: their group memberships and friendships. */
async function seedEntitlements(db: Db): Promise<void> {
  await db.insertInto('group_members').values(MEMBERS.map(([group_id, user_id]) => ({ group_id, user_id, role: 0, joined_at: 1 }))).execute();
  const rows = [];
  for (let a = 1; a <= FRIENDS_UP_TO; a++) for (let b = 1; b <= FRIENDS_UP_TO; b++) if (a !== b) rows.push({ user_id: a, friend_id: b, created_at: 1 });
  for (let at = 0; at < rows.length; at += 1000) await db.insertInto('friends').values(rows.slice(at, at + 1000)).execute();
}

/** Ends the friendship of a and b as the friends service does: both rows, and their conversation closed. */
async function unfriend(db: Executor, a: number, b: number): Promise<void> {
  await deleteFriendship(db, a, b);
  await setFriendConversationClosed(db, a, b, true);
}

/** Makes a and b friends again as the friends service does: both rows, and their conversation open. */
async function befriend(db: Executor, a: number, b: number): Promise<void> {
  await insertFriendship(db, a, b, 2);
  await setFriendConversationClosed(db, a, b, false);
}

interface Write {
  message: PendingMessage;
  result: WriteResult;
}

/** Queues every message in the same tick, so that one writer stores them as one batch. */
async function batch(writer: MessageStore, messages: PendingMessage[]): Promise<Write[]> {
  const results = await Promise.all(messages.map((m) => writer.write(m)));
  return messages.map((message, i) => ({ message, result: results[i]! }));
}

/**
 * Checks results against the tables: every result names its real row; each conversation's seqs
 * (messages and withdraws) are exactly 1..last_seq; each (sender, client id) was stored once and every write of it got
 * that row, fresh exactly once; nothing else was stored.
 */
async function expectConsistent(db: Db, writes: readonly Write[]): Promise<void> {
  const rows = await db.selectFrom('messages').selectAll().execute();
  const conversations = await db.selectFrom('conversations').selectAll().execute();
  const rowById = new Map(rows.map((r) => [Number(r.id), r]));
  const conversationById = new Map(conversations.map((c) => [Number(c.id), c]));
  for (const c of conversations) {
    // Messages and withdraws share a conversation's seqs.
    const own = rows.filter((r) => Number(r.conversation_id) === Number(c.id));
    const seqs = [...own.map((r) => Number(r.seq)), ...own.filter((r) => r.withdraw_seq !== null).map((r) => Number(r.withdraw_seq))].sort((a, b) => a - b);
    expect(seqs, c.conv_key).toEqual(Array.from({ length: Number(c.last_seq) }, (_, i) => i + 1));
  }
  const byClientId = new Map<string, Write[]>();
  for (const w of writes) {
    const row = rowById.get(w.result.id);
    expect(row, `row of ${w.message.body}`).toBeDefined();
    expect([Number(row!.conversation_id), Number(row!.seq), Number(row!.created_at)]).toEqual([w.result.conversationId, w.result.seq, w.result.created_at]);
    expect([Number(row!.sender_id), row!.client_msg_id, Number(row!.to_id)]).toEqual([w.message.senderId, w.message.clientMsgId, w.message.toId]);
    expect(conversationById.get(w.result.conversationId)?.conv_key).toBe(w.message.convKey);
    // A withdraw empties the body.
    if (w.result.fresh) expect(row!.body).toBe(row!.withdrawn_at === null ? w.message.body : '');
    if (w.message.clientMsgId === null) {
      expect(w.result.fresh).toBe(true);
    } else {
      const key = `${w.message.senderId}:${w.message.clientMsgId}`;
      byClientId.set(key, [...(byClientId.get(key) ?? []), w]);
    }
  }
  for (const [key, same] of byClientId) {
    expect(same.filter((w) => w.result.fresh).length, key).toBe(1);
    expect(new Set(same.map((w) => w.result.id)).size, key).toBe(1);
  }
  expect(rows.length).toBe(writes.filter((w) => w.result.fresh).length);
}

/**
 * Locks a conversation's counter row in another transaction (MySQL) until `release` is called:
 * a batch on that conversation then waits on the lock. Resolves once the row is held.
 */
async function holdConversation(db: Db, convKey: string): Promise<{ release: () => void; blocker: Promise<void> }> {
  let release = () => {};
  const held = new Promise<void>((r) => (release = r));
  let locked = () => {};
  const isLocked = new Promise<void>((r) => (locked = r));
  const blocker = db.transaction().execute(async (trx) => {
    await trx.selectFrom('conversations').select('id').where('conv_key', '=', convKey).forUpdate().execute();
    locked();
    await held;
  });
  await isLocked;
  return { release, blocker };
}

describe.each(testDialects())('message writer on %s', (dialect) => {
  /** Registered on MariaDB only (not reported as skipped on SQLite): statements there are round trips. */
  const mysqlOnly = (name: string, test: () => Promise<void>) => {
    if (dialect === 'mysql') it(name, test);
  };
  let dbh: DbHandle;
  let writer: MessageWriter;
  /** Every write that succeeded in this suite: the tables must hold exactly these. */
  const stored: Write[] = [];
  const write = async (messages: PendingMessage[]) => {
    const writes = await batch(writer, messages);
    stored.push(...writes);
    return writes;
  };
  beforeAll(async () => {
    dbh = await openTestDatabase(dialect);
    await seedEntitlements(dbh.db);
    writer = new MessageWriter(dbh.db);
  });
  afterAll(async () => {
    await writer?.idle();
    await dbh?.close();
  });

  it('one batch over new and existing conversations, with in-batch resends and resends of stored messages', async () => {
    const first = await write([friend(1, 2, 'a1', 'c-a1'), friend(2, 1, 'a2'), group(3, 900, 'g1', 'c-g1'), group(4, 900, 'g2', 'c-g2')]);
    expect(first.map((w) => [w.result.seq, w.result.fresh])).toEqual([[1, true], [2, true], [1, true], [2, true]]);

    const second = await write([
      friend(1, 2, 'a3', 'c-a3'),
      friend(5, 6, 'b1', 'c-b1'), // a new friend pair
      group(3, 900, 'g1 again', 'c-g1'), // a resend of a stored message
      friend(1, 2, 'a3 again', 'c-a3'), // a resend of a message of this very batch
      group(7, 901, 'h1'), // a new group
      group(4, 900, 'g3'),
      friend(6, 5, 'b2', 'c-a3'), // same client id, another sender: a message of its own
      friend(2, 1, 'a4'),
      friend(5, 6, 'b1 again', 'c-b1'),
      friend(1, 2, 'a1 again', 'c-a1'),
      group(7, 901, 'h2', 'c-h2'),
    ]);
    expect(second.map((w) => [w.message.body, w.result.seq, w.result.fresh])).toEqual([
      ['a3', 3, true], ['b1', 1, true], ['g1 again', 1, false], ['a3 again', 3, false], ['h1', 1, true], ['g3', 3, true],
      ['b2', 2, true], ['a4', 4, true], ['b1 again', 1, false], ['a1 again', 1, false], ['h2', 2, true],
    ]);
    expect(second[2]!.result).toEqual({ ...first[2]!.result, fresh: false });
    expect(second[9]!.result).toEqual({ ...first[0]!.result, fresh: false });
    expect(second[3]!.result).toEqual({ ...second[0]!.result, fresh: false });
    expect(second[8]!.result).toEqual({ ...second[1]!.result, fresh: false });
    // Ids are handed out in batch order.
    const freshIds = second.filter((w) => w.result.fresh).map((w) => w.result.id);
    expect([...freshIds].sort((a, b) => a - b)).toEqual(freshIds);
    await expectConsistent(dbh.db, stored);

    const conversations = await dbh.db.selectFrom('conversations').selectAll().orderBy('conv_key').execute();
    expect(conversations.map((c) => [c.conv_key, Number(c.kind), c.user_lo === null ? null : Number(c.user_lo), c.user_hi === null ? null : Number(c.user_hi), c.group_id === null ? null : Number(c.group_id), Number(c.last_seq)])).toEqual([
      ['g:900', 1, null, null, 900, 3], ['g:901', 1, null, null, 901, 2], ['u:1:2', 0, 1, 2, null, 4], ['u:5:6', 0, 5, 6, null, 2],
    ]);
    const at = second[0]!.result.created_at;
    expect(conversations.map((c) => Number(c.last_message_at))).toEqual([at, at, at, at]);
  });

  it('refuses (403) a group message whose sender is no longer a member, alone: the rest of its batch is stored', async () => {
    // User 44 was never in group 940; user 43 is, until removed below.
    const outcomes = await Promise.allSettled([
      writer.write(group(43, 940, 'member', 'c-m1')),
      writer.write(group(44, 940, 'outsider', 'c-o1')),
      writer.write(friend(43, 44, 'friend message')),
      writer.write(group(44, 940, 'outsider again', 'c-o1')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    for (const refused of [outcomes[1], outcomes[3]] as PromiseRejectedResult[]) expect(refused.reason).toMatchObject({ name: 'AppError', code: 1003 });
    const kept = [0, 2].map((i) => ({ message: [group(43, 940, 'member', 'c-m1'), friend(43, 44, 'friend message')][i / 2]!, result: (outcomes[i] as PromiseFulfilledResult<WriteResult>).value }));
    expect(kept.map((w) => [w.result.seq, w.result.fresh])).toEqual([[1, true], [1, true]]);
    stored.push(...kept);

    // Removed after the service's check and before the write: refused too, and no seq is used.
    await dbh.db.deleteFrom('group_members').where('group_id', '=', 940).where('user_id', '=', 43).execute();
    await expect(writer.write(group(43, 940, 'after the kick'))).rejects.toMatchObject({ code: 1003 });
    // A resend of what they sent while a member still gets its stored message, not a 403.
    await expect(writer.write(group(43, 940, 'member (resent)', 'c-m1'))).resolves.toEqual({ ...kept[0]!.result, fresh: false });
    await dbh.db.insertInto('group_members').values({ group_id: 940, user_id: 43, role: 0, joined_at: 2 }).execute();
    const [back] = await write([group(43, 940, 'back in')]);
    expect(back!.result.seq).toBe(2);
    await expectConsistent(dbh.db, stored);
  });

  it('refuses (403) a friend message once the two are no longer friends, alone: the rest of its batch is stored and no seq is used', async () => {
    // 101 and 102 were never friends; 95 and 96 are, until they unfriend below.
    const outcomes = await Promise.allSettled([
      writer.write(friend(95, 96, 'friends', 'c-f1')),
      writer.write(friend(101, 102, 'strangers', 'c-s1')),
      writer.write(friend(96, 95, 'reply')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({ name: 'AppError', reason: 'friends_only' });
    const kept = [0, 2].map((i) => ({ message: [friend(95, 96, 'friends', 'c-f1'), friend(96, 95, 'reply')][i / 2]!, result: (outcomes[i] as PromiseFulfilledResult<WriteResult>).value }));
    expect(kept.map((w) => w.result.seq)).toEqual([1, 2]);
    stored.push(...kept);

    // Unfriended after the service's check and before the write: their conversation is closed,
    // so both sides are refused, the counter stays, and the rest of the batch is stored.
    await unfriend(dbh.db, 95, 96);
    const during = await Promise.allSettled([writer.write(friend(95, 96, 'after the unfriend')), writer.write(friend(96, 95, 'after the unfriend')), writer.write(friend(11, 12, 'others go on'))]);
    expect(during.map((o) => o.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    for (const refused of during.slice(0, 2) as PromiseRejectedResult[]) expect(refused.reason).toMatchObject({ reason: 'friends_only' });
    stored.push({ message: friend(11, 12, 'others go on'), result: (during[2] as PromiseFulfilledResult<WriteResult>).value });
    // A resend of what was sent as friends still gets its stored message, not a 403.
    await expect(writer.write(friend(95, 96, 'friends (resent)', 'c-f1'))).resolves.toEqual({ ...kept[0]!.result, fresh: false });
    const counter = await dbh.db.selectFrom('conversations').select(['last_seq', 'closed']).where('conv_key', '=', friendConversationKey(95, 96)).executeTakeFirstOrThrow();
    expect([Number(counter.last_seq), Number(counter.closed)]).toEqual([2, 1]);

    await befriend(dbh.db, 95, 96);
    const [again] = await write([friend(96, 95, 'friends again')]);
    expect(again!.result.seq).toBe(3);
    // A stranger pair's refusal stored nothing either: no conversation was made for it.
    expect(await dbh.db.selectFrom('conversations').select('id').where('conv_key', '=', friendConversationKey(101, 102)).executeTakeFirst()).toBeUndefined();
    await expectConsistent(dbh.db, stored);
  });

  /** Runs `change` in another transaction and holds it uncommitted until the returned `commit` is called. */
  async function holdUncommitted(change: (trx: Executor) => Promise<void>) {
    let commit = () => {};
    let changed = () => {};
    const isChanged = new Promise<void>((r) => (changed = r));
    const done = dbh.db.transaction().execute(async (trx) => {
      await change(trx);
      changed();
      await new Promise<void>((r) => (commit = r));
    });
    await isChanged;
    return { commit: async () => (commit(), await done) };
  }

  /** A write settled into a value at once (so that its refusal is never an unhandled rejection), and whether it has settled. */
  function watched(message: PendingMessage) {
    const state = { settled: false };
    const outcome = writer.write(message).then(
      (result) => ((state.settled = true), result),
      (err: unknown) => ((state.settled = true), err),
    );
    return { state, outcome };
  }

  mysqlOnly('an unfriend under way is waited for, then the message refused: on a stored conversation (its row) and on a first message (the friendship rows)', async () => {
    // 13 and 14 have a stored conversation; 93 and 94 never exchanged a message.
    await write([friend(13, 14, 'before the unfriend')]);
    for (const [a, b] of [[13, 14], [93, 94]] as const) {
      const ending = await holdUncommitted((trx) => unfriend(trx, a, b));
      const { state, outcome } = watched(friend(b, a, 'during the unfriend'));
      await new Promise((r) => setTimeout(r, 300));
      expect(state.settled, `${a}:${b}: the batch waits for the unfriend to commit`).toBe(false);
      await ending.commit();
      expect(await outcome, `${a}:${b}`).toMatchObject({ name: 'AppError', code: 1003 });
    }
    await expectConsistent(dbh.db, stored);
  });

  mysqlOnly('a removal under way when the batch checks membership is waited for: the message is then refused', async () => {
    await dbh.db.insertInto('group_members').values({ group_id: 945, user_id: 46, role: 0, joined_at: 1 }).execute();
    // Another connection removes the member and has not committed yet.
    const kick = await holdUncommitted(async (trx) => {
      await trx.deleteFrom('group_members').where('group_id', '=', 945).where('user_id', '=', 46).execute();
    });
    const { state, outcome } = watched(group(46, 945, 'during the kick'));
    await new Promise((r) => setTimeout(r, 300));
    expect(state.settled, 'the batch waits for the removal to commit').toBe(false);
    await kick.commit();
    expect(await outcome).toMatchObject({ name: 'AppError', code: 1003 });
    await expectConsistent(dbh.db, stored);
  });

  it('client ids differing only in case are two messages, and fail nobody else in their batch', async () => {
    const writes = await write([friend(31, 32, 'upper', 'Case-1'), friend(33, 34, 'bystander'), friend(31, 32, 'lower', 'case-1')]);
    expect(writes.map((w) => [w.message.body, w.result.fresh])).toEqual([['upper', true], ['bystander', true], ['lower', true]]);
    expect(new Set(writes.map((w) => w.result.id)).size).toBe(3);
    const again = await write([friend(31, 32, 'lower?', 'case-1'), friend(31, 32, 'upper?', 'Case-1')]);
    expect(again.map((w) => w.result)).toEqual([writes[2]!.result, writes[0]!.result].map((r) => ({ ...r, fresh: false })));
    await expectConsistent(dbh.db, stored);
  });

  it('a batch of resends only stores nothing and answers the stored results', async () => {
    const earlier = await write([friend(11, 12, 'x', 'c-x'), friend(12, 11, 'y', 'c-y')]);
    const before = await dbh.db.selectFrom('conversations').select('last_seq').where('conv_key', '=', 'u:11:12').executeTakeFirstOrThrow();
    const again = await write([friend(12, 11, 'y?', 'c-y'), friend(11, 12, 'x?', 'c-x'), friend(11, 12, 'x??', 'c-x')]);
    expect(again.map((w) => w.result)).toEqual([earlier[1]!.result, earlier[0]!.result, earlier[0]!.result].map((r) => ({ ...r, fresh: false })));
    const after = await dbh.db.selectFrom('conversations').select('last_seq').where('conv_key', '=', 'u:11:12').executeTakeFirstOrThrow();
    expect(Number(after.last_seq)).toBe(Number(before.last_seq));
    await expectConsistent(dbh.db, stored);
  });

  it('a batch that fails stores nothing and leaves no gap: every message in it is rejected', async () => {
    await write([friend(21, 22, 'kept')]);
    const broken = { ...friend(21, 22, 'broken'), body: null as unknown as string };
    const outcomes = await Promise.allSettled([writer.write(friend(22, 21, 'lost')), writer.write(group(21, 920, 'lost too')), writer.write(broken)]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(await dbh.db.selectFrom('conversations').select('conv_key').where('conv_key', '=', 'g:920').execute()).toEqual([]);
    const next = await write([friend(22, 21, 'after')]);
    expect(next[0]!.result.seq).toBe(2);
    await expectConsistent(dbh.db, stored);
  });

  mysqlOnly('statements per batch on MariaDB: 4 with or without client ids (7 and 8 before), one more to check the senders of group messages, one more for a pair\'s first message; a stored resend costs a rollback and a retry with the lookup', async () => {
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    await write([friend(31, 32, 'warm-up'), friend(33, 34, 'warm-up')]);
    // Pairs no test has written to: their first messages.
    const firsts = await recordStatements(name, () => write([friend(37, 38, 'first'), friend(39, 40, 'first')]));
    expect(verbs(firsts.statements)).toEqual(['begin', 'select', 'insert', 'insert', 'commit']);
    expect(firsts.statements[1], 'friendships of conversations not stored yet, checked in the transaction').toMatch(/from `friends`.*lock in share mode$/);
    const friendsOnly = await recordStatements(name, () => write([friend(31, 32, 'f1'), friend(33, 34, 'f2')]));
    expect(verbs(friendsOnly.statements)).toEqual(['begin', 'insert', 'insert', 'commit']);
    const plain = await recordStatements(name, () => write([friend(31, 32, 'p1'), group(31, 930, 'p2'), friend(33, 34, 'p3')]));
    expect(verbs(plain.statements)).toEqual(['begin', 'select', 'insert', 'insert', 'commit']);
    expect(plain.statements[1], 'the senders of group messages, checked in the transaction').toMatch(/from `group_members`.*lock in share mode$/);
    const withIds = await recordStatements(name, () => write([friend(31, 32, 'i1', 'c-i1'), group(31, 930, 'i2'), friend(31, 32, 'i1', 'c-i1')]));
    expect(verbs(withIds.statements)).toEqual(['begin', 'select', 'insert', 'insert', 'commit']);
    const resend = await recordStatements(name, () => write([friend(31, 32, 'i1', 'c-i1'), friend(33, 34, 'i3', 'c-i3')]));
    expect(verbs(resend.statements)).toEqual(['begin', 'insert', 'insert', 'rollback', 'begin', 'select', 'insert', 'insert', 'commit']);
    expect(resend.statements[5]!.match(/'c-i1'/g), 'each (sender, client id) looked up once').toHaveLength(1);
    expect(resend.result.map((w) => [w.message.body, w.result.fresh])).toEqual([['i1', false], ['i3', true]]);
    expect(resend.result[0]!.result).toEqual({ ...withIds.result[0]!.result, fresh: false });
    await expectConsistent(dbh.db, stored);
  });

  mysqlOnly('on an autocommit-off session a batch is 2 round trips (3 with group messages), the insert carrying the COMMIT; a failed or resent batch rolls back and the session stays clean', async () => {
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    const session = dbh.openManualCommit!();
    try {
      expect((await sql<{ a: number }>`select @@autocommit as a`.execute(session.db)).rows[0]!.a).toBe(0);
      await sql`commit`.execute(session.db);
      const sessionWriter = new MessageWriter(dbh.db, { session: session.db });
      const on = async (messages: PendingMessage[]) => {
        const writes = await batch(sessionWriter, messages);
        stored.push(...writes);
        return writes;
      };
      await on([friend(51, 52, 'warm-up'), friend(53, 54, 'warm-up')]); // the writer asks the server's version once, and sees the pairs stored
      const plain = await recordStatements(name, () => on([friend(51, 52, 's1', 'c-s1'), group(51, 950, 's2'), friend(53, 54, 's3')]));
      expect(verbs(plain.statements)).toEqual(['select', 'insert', 'insert']);
      expect(plain.statements.at(-1)).toMatch(/; commit$/);
      const resend = await recordStatements(name, () => on([friend(51, 52, 's1 again', 'c-s1'), friend(53, 54, 's4')]));
      // The first insert hits the unique index: its COMMIT never runs, the batch rolls back and runs again.
      expect(verbs(resend.statements)).toEqual(['insert', 'insert', 'rollback', 'select', 'insert', 'insert']);
      expect(resend.statements.at(-1)).toMatch(/; commit$/);
      expect(resend.result.map((w) => [w.message.body, w.result.fresh])).toEqual([['s1 again', false], ['s4', true]]);
      // A batch that fails (a body the column refuses) leaves nothing behind, and the next one commits alone.
      const before = Number((await dbh.db.selectFrom('conversations').select('last_seq').where('conv_key', '=', 'u:51:52').executeTakeFirstOrThrow()).last_seq);
      const failed = await Promise.allSettled([sessionWriter.write(friend(51, 52, 'x')), sessionWriter.write({ ...friend(51, 52, 'y'), body: null as unknown as string })]);
      expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
      const after = await on([friend(51, 52, 's5')]);
      expect(after[0]!.result.seq).toBe(before + 1);
      // Between batches the session holds no open transaction, and autocommit is still off.
      expect((await sql<{ a: number }>`select @@autocommit as a, @@in_transaction as t`.execute(session.db)).rows[0]).toEqual({ a: 0, t: 0 });
      await expectConsistent(dbh.db, stored);
    } finally {
      await session.close();
    }
  });

  mysqlOnly('a session connection closed by the server, idle or in the middle of a batch, costs nothing: the batch runs again on a new one', async () => {
    const session = dbh.openManualCommit!();
    const connectionId = async () => {
      const { id } = (await sql<{ id: number }>`select connection_id() as id`.execute(session.db)).rows[0]!;
      await sql`commit`.execute(session.db);
      return Number(id);
    };
    try {
      const sessionWriter = new MessageWriter(dbh.db, { session: session.db });
      const first = await batch(sessionWriter, [friend(61, 62, 'before')]);
      stored.push(...first);
      // Idle: the pool notices the closed connection and hands out a new one, autocommit off again.
      const idle = await connectionId();
      await sql.raw(`kill ${idle}`).execute(dbh.db);
      const afterIdle = await batch(sessionWriter, [friend(61, 62, 'after idle')]);
      stored.push(...afterIdle);
      expect(afterIdle[0]!.result.seq).toBe(first[0]!.result.seq + 1);
      expect((await sql<{ a: number }>`select @@autocommit as a`.execute(session.db)).rows[0]!.a).toBe(0);
      // Mid-batch: another transaction holds the conversation row, the batch's upsert waits on it,
      // and its connection is killed while it waits.
      const busy = await connectionId();
      const { release, blocker } = await holdConversation(dbh.db, 'u:61:62');
      const write = batch(sessionWriter, [friend(61, 62, 'during'), friend(63, 64, 'during too')]);
      for (let i = 0; i < 100; i++) {
        const waiting = await sql<{ n: number }>`select count(*) as n from information_schema.processlist where id = ${busy} and info like 'insert into%'`.execute(dbh.db);
        if (Number(waiting.rows[0]!.n) > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await sql.raw(`kill ${busy}`).execute(dbh.db);
      release();
      await blocker;
      const during = await write;
      stored.push(...during);
      expect(during.map((w) => [w.result.seq, w.result.fresh])).toEqual([[afterIdle[0]!.result.seq + 1, true], [1, true]]);
      expect(await connectionId()).not.toBe(busy);
      await expectConsistent(dbh.db, stored);
    } finally {
      await session.close();
    }
  });

  mysqlOnly('with a spare session, a batch stuck on a lock does not hold the messages behind it; one sharing its conversation waits and takes the next seq', async () => {
    const sessions = [dbh.openManualCommit!(), dbh.openManualCommit!()];
    try {
      const sizes: number[] = [];
      const spareWriter = new MessageWriter(dbh.db, { session: sessions[0]!.db, spareSession: sessions[1]!.db, spareAfter: 3, onBatch: (n) => sizes.push(n) });
      const record = async (messages: PendingMessage[]) => {
        const writes = await batch(spareWriter, messages);
        stored.push(...writes);
        return writes;
      };
      const [first] = await record([friend(81, 82, 'before')]);
      // Another transaction holds the conversation's counter row: the next batch on it waits.
      const { release, blocker } = await holdConversation(dbh.db, 'u:81:82');
      let stuckDone = false;
      const settled: string[] = [];
      const stuck = batch(spareWriter, [friend(81, 82, 'stuck')]).then((w) => ((stuckDone = true), settled.push('stuck'), w));
      await new Promise((r) => setTimeout(r, 50));
      // Fewer than spareAfter wait: they stay queued behind the stuck batch.
      let fewDone = false;
      const few = batch(spareWriter, [friend(83, 84, 'a'), friend(85, 86, 'b')]).then((w) => ((fewDone = true), w));
      await new Promise((r) => setTimeout(r, 100));
      expect([stuckDone, fewDone]).toEqual([false, false]);
      // The third waiting message starts a batch on the spare session: it commits while the first still waits.
      const passing = await record([friend(87, 88, 'c')]);
      expect(fewDone).toBe(true);
      expect(stuckDone).toBe(false);
      stored.push(...(await few));
      // A spare batch sharing the stuck batch's conversation waits for it too, then takes the seq after it.
      const sharing = batch(spareWriter, [friend(82, 81, 'after the stuck one'), friend(89, 90, 'd'), friend(91, 92, 'e')]).then((w) => (settled.push('sharing'), w));
      await new Promise((r) => setTimeout(r, 100));
      release();
      await blocker;
      const [stuckWrite] = await stuck;
      const shared = await sharing;
      stored.push(stuckWrite!, ...shared);
      expect(stuckWrite!.result.seq).toBe(first!.result.seq + 1);
      expect(shared[0]!.result.seq).toBe(first!.result.seq + 2);
      expect(passing[0]!.result.fresh).toBe(true);
      // The batches: the first, the spare one (a, b, c), then the stuck one and the one sharing its
      // conversation, settled in seq order though their answers come on two connections (a loaded
      // CI host once read the later one first and settled [1, 3, 3, 1]; settle-order.test.ts).
      expect(sizes).toEqual([1, 3, 1, 3]);
      expect(settled).toEqual(['stuck', 'sharing']);
      await spareWriter.idle();
      await expectConsistent(dbh.db, stored);
    } finally {
      for (const session of sessions) await session.close();
    }
  });

  mysqlOnly('without INSERT … RETURNING (MySQL), a closed conversation is read back as it is now, not as the batch\'s snapshot had it', async () => {
    const plainWriter = new MessageWriter(dbh.db, { statements: mysqlStatements({ returning: false }) });
    const [first] = await batch(plainWriter, [friend(15, 16, 'to be withdrawn')]);
    stored.push(first!);
    // The conversation's last seq is now a withdraw's, which no message row holds.
    await markWithdrawn(dbh.db, first!.result.id, first!.result.conversationId, Date.now());
    const ending = await holdUncommitted((trx) => unfriend(trx, 15, 16));
    // A refused group message with a client id is looked up as a resend: a plain read, which fixes
    // the transaction's snapshot while the unfriend is still uncommitted. The friend message's
    // upsert then waits for the unfriend and finds the conversation closed.
    const outcomes = Promise.allSettled([plainWriter.write(group(44, 940, 'outsider', 'c-snapshot')), plainWriter.write(friend(16, 15, 'during the unfriend'))]);
    await new Promise((r) => setTimeout(r, 300));
    await ending.commit();
    const [refusedGroup, refusedFriend] = await outcomes;
    expect(refusedGroup).toMatchObject({ status: 'rejected', reason: { code: 1003 } });
    expect(refusedFriend).toMatchObject({ status: 'rejected', reason: { reason: 'friends_only' } });
    await expectConsistent(dbh.db, stored);
  });

  mysqlOnly('without INSERT … RETURNING (MySQL) the counters and ids are read back: same results', async () => {
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    const plainWriter = new MessageWriter(dbh.db, { statements: mysqlStatements({ returning: false }) });
    const writes = await recordStatements(name, () => batch(plainWriter, [
      friend(1, 2, 'm1', 'c-m1'), friend(35, 36, 'm2'), group(3, 900, 'g1 once more', 'c-g1'), group(8, 900, 'm3', 'c-m3'),
      friend(2, 1, 'm4'), friend(1, 2, 'm1 again', 'c-m1'), group(8, 935, 'm5'),
    ]));
    stored.push(...writes.result);
    // c-g1 is stored already: the first attempt's insert refuses it, the retry looks resends up
    // (then, as every attempt does, checks the senders: members of their groups, and friends of
    // their recipients, as this new writer has seen none of these conversations stored).
    expect(verbs(writes.statements)).toEqual(['begin', 'select', 'select', 'insert', 'select', 'insert', 'rollback', 'begin', 'select', 'select', 'select', 'insert', 'select', 'insert', 'select', 'commit']);
    expect(writes.result.map((w) => w.result.fresh)).toEqual([true, true, false, true, true, false, true]);
    await expectConsistent(dbh.db, stored);
  });
});

describe('message writer batch observer', () => {
  it('hears each batch once with its size and duration; one that throws stops nothing', async () => {
    const dbh = await openTestDatabase('sqlite');
    await seedEntitlements(dbh.db);
    const heard: Array<[number, number]> = [];
    const writer = new MessageWriter(dbh.db, {
      onBatch: (size, seconds) => {
        heard.push([size, seconds]);
        throw new Error('observer failure');
      },
    });
    const writes = await batch(writer, [friend(1, 2, 'a'), friend(2, 1, 'b', 'c-b'), group(1, 3, 'c')]);
    expect(writes.map((w) => w.result.seq)).toEqual([1, 2, 1]);
    expect((await batch(writer, [friend(1, 2, 'd')]))[0]!.result.seq).toBe(3);
    const failed = await Promise.allSettled([writer.write({ ...friend(1, 2, 'x'), body: null as unknown as string })]);
    expect(failed[0]!.status).toBe('rejected');
    expect(heard.map(([size]) => size)).toEqual([3, 1, 1]);
    expect(heard.every(([, seconds]) => seconds > 0 && seconds < 10)).toBe(true);
    await dbh.close();
  });
});

describe('which servers get INSERT … RETURNING', () => {
  it('MariaDB from 10.5 on, MySQL never', () => {
    expect(['10.11.19-MariaDB-0+deb12u1', '5.5.5-10.11.6-MariaDB', '11.4.2-MariaDB', '10.5.0-MariaDB'].map(hasInsertReturning)).toEqual([true, true, true, true]);
    expect(['10.4.32-MariaDB', '5.5.5-10.3.39-MariaDB-0+deb10u1', '8.0.36', '8.4.0-0ubuntu0.24.04.1', ''].map(hasInsertReturning)).toEqual([false, false, false, false, false]);
  });
});

const writerModes: Array<[string, boolean]> = [['transactions', false], ['autocommit-off sessions', true]];
describe.runIf(testDialects().includes('mysql')).each(writerModes)('two message writers on one MariaDB database (two nodes), with %s', (_mode, sessions) => {
  let dbh: DbHandle;
  let other: DbHandle;
  const opened: DbHandle[] = [];
  const writerOn = (handle: DbHandle) => {
    if (!sessions) return new MessageWriter(handle.db);
    const session = handle.openManualCommit!();
    opened.push(session);
    return new MessageWriter(handle.db, { session: session.db });
  };
  beforeAll(async () => {
    dbh = await openTestDatabase('mysql');
    await seedEntitlements(dbh.db);
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    other = openDatabase({ dialect: 'mysql', location: mysqlUrlFor(name), poolSize: 5 });
  });
  afterAll(async () => {
    for (const session of opened) await session.close();
    await other?.close();
    await dbh?.close();
  });

  it('interleaved batches on shared conversations get gap-free seqs; a resend racing its original is stored once', async () => {
    const a = writerOn(dbh);
    const b = writerOn(other);
    const rounds = 30;
    const sends: Array<Promise<Write[]>> = [];
    for (let r = 0; r < rounds; r++) {
      const mine = (side: string, offset: number) => [
        friend(41, 42, `${side}${r} f`), friend(42, 41, `${side}${r} f2`, `${side}-${r}`),
        group(41 + offset, 940, `${side}${r} g`, `${side}-g-${r}`), group(43, 940 + (r % 3), `${side}${r} g2`),
        friend(41 + offset, 50 + r, `${side}${r} new pair`),
      ];
      // Each writer also resends the other's client ids of this round: the two copies race.
      const aBatch = [...mine('a', 0), friend(42, 41, `b${r} f2 (resent by a)`, `b-${r}`)];
      const bBatch = [...mine('b', 1), friend(42, 41, `a${r} f2 (resent by b)`, `a-${r}`)];
      sends.push(batch(a, aBatch), batch(b, bBatch));
      if (r % 5 === 4) await Promise.all(sends.slice(-10));
    }
    const writes = (await Promise.all(sends)).flat();
    await expectConsistent(dbh.db, writes);
    const last = await dbh.db.selectFrom('conversations').select(['conv_key', 'last_seq']).where('conv_key', 'in', ['u:41:42', 'g:940']).orderBy('conv_key').execute();
    // Per round on u:41:42: 2 plain + 2 with client ids (+ 2 resends that store nothing); on g:940 every third round adds 2 more.
    expect(last.map((c) => [c.conv_key, Number(c.last_seq)])).toEqual([['g:940', rounds * 2 + Math.ceil(rounds / 3) * 2], ['u:41:42', rounds * 4]]);
  });
});

describe.runIf(testDialects().includes('mysql'))('message writer on its own thread (MariaDB)', () => {
  let dbh: DbHandle;
  let location: string;
  const batches: number[] = [];
  let writer: ThreadedMessageWriter;
  const stored: Write[] = [];
  beforeAll(async () => {
    dbh = await openTestDatabase('mysql');
    await seedEntitlements(dbh.db);
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    location = mysqlUrlFor(name);
    writer = new ThreadedMessageWriter(location, { onBatch: (size) => batches.push(size) });
    await writer.start();
  });
  afterAll(async () => {
    await writer?.close();
    await dbh?.close();
  });

  it('stores batches as the writer on the event loop does: seqs, ids and resends match the tables; batches are reported', async () => {
    const first = await batch(writer, [friend(1, 2, 'a1', 'c-a1'), friend(2, 1, 'a2'), group(3, 900, 'g1', 'c-g1')]);
    expect(first.map((w) => [w.result.seq, w.result.fresh])).toEqual([[1, true], [2, true], [1, true]]);
    const second = await batch(writer, [friend(1, 2, 'a1 again', 'c-a1'), group(3, 900, 'g2'), friend(5, 6, 'b1', 'c-b1'), friend(5, 6, 'b1 again', 'c-b1')]);
    expect(second.map((w) => [w.message.body, w.result.seq, w.result.fresh])).toEqual([['a1 again', 1, false], ['g2', 2, true], ['b1', 1, true], ['b1 again', 1, false]]);
    stored.push(...first, ...second);
    await expectConsistent(dbh.db, stored);
    // One batch a turn: the first attempt of the second refused the stored resend and ran again (reported once).
    expect(batches).toEqual([3, 4]);
  });

  it("a failing batch fails its writes with the database's code and stores nothing; the next batch goes on", async () => {
    const failed = await Promise.allSettled([writer.write(friend(1, 2, 'ok but batched with a bad one')), writer.write({ ...friend(1, 2, 'x'), body: null as unknown as string })]);
    expect(failed.map((f) => f.status)).toEqual(['rejected', 'rejected']);
    expect((failed[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ER_BAD_NULL_ERROR' });
    const [after] = await batch(writer, [friend(2, 1, 'after the failure')]);
    expect(after!.result.seq).toBe(3);
    stored.push(after!);
    await expectConsistent(dbh.db, stored);
  });

  it('a group message from a non-member comes back from the thread as a 403 of its own', async () => {
    const outcomes = await Promise.allSettled([writer.write(group(44, 900, 'outsider')), writer.write(group(3, 900, 'member'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled']);
    expect((outcomes[0] as PromiseRejectedResult).reason).toMatchObject({ name: 'AppError', code: 1003, status: 403 });
    stored.push({ message: group(3, 900, 'member'), result: (outcomes[1] as PromiseFulfilledResult<WriteResult>).value });
    await expectConsistent(dbh.db, stored);
  });

  it('a thread that dies fails the writes in flight (their transaction rolled back); a resend on the next thread is stored once', async () => {
    const held = await holdConversation(dbh.db, friendConversationKey(1, 2));
    const stuck = writer.write(friend(1, 2, 'in flight', 'c-flight'));
    await new Promise((r) => setTimeout(r, 300));
    await (writer as unknown as { worker: Worker }).worker.terminate();
    await expect(stuck).rejects.toThrow(/thread exited/);
    held.release();
    await held.blocker;
    const [resent] = await batch(writer, [friend(1, 2, 'in flight', 'c-flight')]);
    expect(resent!.result).toMatchObject({ seq: 4, fresh: true });
    stored.push(resent!);
    await expectConsistent(dbh.db, stored);
  });

  it('idle() waits for the writes in flight; close() stops the thread and later writes are refused', async () => {
    const pending = batch(writer, [group(9, 901, 'last one')]);
    await writer.idle();
    const [last] = await pending;
    stored.push(last!);
    await writer.close();
    await expect(writer.write(friend(1, 2, 'too late'))).rejects.toThrow(/closed/);
    await expectConsistent(dbh.db, stored);
  });
});
