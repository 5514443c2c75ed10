import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordStatements } from './helpers/mysql-statements.js';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

type User = Awaited<ReturnType<typeof registerUser>>;

/** `/im/chat/receipts`: who read a message, from the read cursors; the sender only; names in small conversations. */
describe.each(testDialects())('read receipts on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_RECEIPT_LIST_MAX: '3', WEIM_GROUPS_HISTORY_FROM_JOIN: 'true' });
  });
  afterAll(async () => {
    await t.stop();
  });

  const receipts = (u: User, messageId: unknown) => post(t.api, '/im/chat/receipts', { message_id: messageId }, { token: u.token });
  const read = (u: User, target: Record<string, number>, seq: number) => post(t.api, '/im/chat/read', { ...target, seq }, { token: u.token });

  it('a friend message: unread, then read once the friend\'s cursor passes it; only the sender may ask', async () => {
    const { a, b } = await makeFriends(t.api);
    const first = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'one' }, { token: a.token })).data;
    const second = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'two' }, { token: a.token })).data;
    expect((await receipts(a, first.id)).data).toEqual({ message_id: first.id, conversation_id: first.conversation_id, seq: first.seq, member_count: 1, read_count: 0, readers: [] });
    expect((await read(b, { to_uid: a.user.id }, first.seq)).code).toBe(0);
    const after = (await receipts(a, first.id)).data;
    expect([after.read_count, after.readers.map((u: { id: number }) => u.id)]).toEqual([1, [b.user.id]]);
    expect((await receipts(a, second.id)).data.read_count).toBe(0);
    const notMine = await receipts(b, first.id);
    expect([notMine.status, notMine.code, notMine.msg]).toEqual([403, 1003, 'only the sender sees who read a message']);
    expect((await receipts(a, 987_654_321)).status).toBe(404);
    for (const bad of [null, 'abc', [first.id], true, 0, -1, 1.5, '']) expect((await receipts(a, bad)).status, JSON.stringify(bad)).toBe(400);
  });

  async function groupOf(owner: User, members: User[]) {
    const group = (await post(t.api, '/im/group/create', { name: 'receipts' }, { token: owner.token })).data.group;
    for (const m of members) {
      const request = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: m.token });
      await post(t.api, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 }, { token: owner.token });
    }
    return group as { id: number };
  }

  it('a group message: members who were there when it was sent, those whose cursor passed it, named in groups of at most receipt_list_max', async () => {
    const owner = await registerUser(t.api);
    const [m1, m2] = [await registerUser(t.api), await registerUser(t.api)];
    const group = await groupOf(owner, [m1!, m2!]);
    const sent = (await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'hello all' }, { token: owner.token })).data;
    // A member who joins after the message is not counted (with history_from_join they cannot see it).
    const late = await registerUser(t.api);
    const request = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: late.token });
    await post(t.api, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 }, { token: owner.token });
    await read(m2!, { group_id: group.id }, sent.seq);
    await read(late, { group_id: group.id }, sent.seq + 5);
    const r = (await receipts(owner, sent.id)).data;
    expect([r.member_count, r.read_count, r.readers.map((u: { id: number }) => u.id)]).toEqual([2, 1, [m2!.user.id]]);
    // A member who leaves drops out of both counts.
    await post(t.api, '/im/group/leave', { group_id: group.id }, { token: m2!.token });
    expect((await receipts(owner, sent.id)).data).toMatchObject({ member_count: 1, read_count: 0, readers: [] });
    // A sender who left the group no longer sees its receipts.
    const mine = (await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'bye' }, { token: m1!.token })).data;
    await post(t.api, '/im/group/leave', { group_id: group.id }, { token: m1!.token });
    expect((await receipts(m1!, mine.id)).status).toBe(403);
  });

  it('past receipt_list_max members: counts only', async () => {
    const owner = await registerUser(t.api);
    const members: User[] = [];
    for (let i = 0; i < 4; i++) members.push(await registerUser(t.api));
    const group = await groupOf(owner, members);
    const sent = (await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'many' }, { token: owner.token })).data;
    for (const m of members.slice(0, 3)) await read(m, { group_id: group.id }, sent.seq);
    const r = (await receipts(owner, sent.id)).data;
    expect(r).toEqual({ message_id: sent.id, conversation_id: sent.conversation_id, seq: sent.seq, member_count: 4, read_count: 3 });
  });

  it('a receipt writes nothing: no row changes, and on MariaDB its statements are selects only', async () => {
    const { a, b } = await makeFriends(t.api);
    const sent = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'x' }, { token: a.token })).data;
    await read(b, { to_uid: a.user.id }, sent.seq);
    const tables = ['messages', 'conversations', 'read_cursors', 'user_events', 'message_mentions'] as const;
    const counts = async () => Promise.all(tables.map(async (table) => Number((await t.dbh.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)));
    const cursor = async () => (await t.dbh.db.selectFrom('read_cursors').select(['read_seq', 'updated_at']).where('user_id', '=', b.user.id).executeTakeFirstOrThrow());
    const before = [await counts(), await cursor()];
    if (dialect === 'mysql') {
      const { name } = await t.dbh.db.selectNoFrom((eb) => eb.fn<string>('database', []).as('name')).executeTakeFirstOrThrow();
      const statements = [...(await recordStatements(name, () => receipts(a, sent.id), 'query')).statements, ...(await recordStatements(name, () => receipts(a, sent.id), 'execute')).statements];
      expect(statements.length).toBeGreaterThan(0);
      for (const sql of statements) expect(sql.trim().toLowerCase()).toMatch(/^select/);
    } else {
      expect((await receipts(a, sent.id)).data.read_count).toBe(1);
    }
    expect([await counts(), await cursor()]).toEqual(before);
  });
});
