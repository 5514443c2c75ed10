import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { SyncDevice } from './helpers/sync-client.js';
import { settle, signedInSocket, type TestSocket } from './helpers/ws.js';

type User = Awaited<ReturnType<typeof registerUser>>;

/** Mentions on group sends: members by id or `all` (owner/admins); `mentioned` in the conversation list until read past it. */
describe.each(testDialects())('mentions on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect);
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.stop();
  });

  async function groupOf(owner: User, members: User[]) {
    const group = (await post(t.api, '/im/group/create', { name: 'mentions' }, { token: owner.token })).data.group as { id: number };
    for (const m of members) {
      const request = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: m.token });
      await post(t.api, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 }, { token: owner.token });
    }
    return group;
  }
  const mentionedIn = async (u: User, groupId: number) => {
    const list = (await post(t.api, '/im/conversation/list', {}, { token: u.token })).data.list as Array<{ group: { id: number } | null; mentioned: boolean; unread: number }>;
    return list.find((c) => c.group?.id === groupId);
  };
  const send = (u: User, body: Record<string, unknown>) => post(t.api, '/im/chat/send/group', { type: 0, body: 'hey', ...body }, { token: u.token });
  /** The mention rows of a conversation, [user id, seq], in order. */
  const rows = async (conversationId: number) =>
    (await t.dbh.db.selectFrom('message_mentions').selectAll().where('conversation_id', '=', conversationId).orderBy('seq').orderBy('user_id').execute()).map((r) => [Number(r.user_id), Number(r.seq)]);
  const allRows = async () => Number((await t.dbh.db.selectFrom('message_mentions').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('a mention by id: stored once per user, in the live frame, the sync and history; mentioned until read past it', async () => {
    const owner = await registerUser(t.api);
    const [m1, m2] = [await registerUser(t.api), await registerUser(t.api)];
    const group = await groupOf(owner, [m1!, m2!]);
    const m1Socket = await signedInSocket(t.url, m1!.token);
    open.push(m1Socket);
    const sent = await send(m2!, { group_id: group.id, body: '@m1 look', mentions: [m1!.user.id, m1!.user.id] });
    expect(sent.code).toBe(0);
    expect(await rows(sent.data.conversation_id)).toEqual([[m1!.user.id, sent.data.seq]]);
    expect((await m1Socket.next((f) => f.Cmd === 10 && f.Body === '@m1 look')).Mentions).toEqual([m1!.user.id]);
    expect(await mentionedIn(m1!, group.id)).toMatchObject({ mentioned: true, unread: 1 });
    expect(await mentionedIn(owner, group.id)).toMatchObject({ mentioned: false });
    // The sender is not mentioned by their own message.
    expect(await mentionedIn(m2!, group.id)).toMatchObject({ mentioned: false });
    const history = (await post(t.api, '/im/chat/history', { group_id: group.id }, { token: m1!.token })).data.list;
    expect(history[0]).toMatchObject({ body: '@m1 look', mentions: [m1!.user.id] });
    const device = new SyncDevice(t.url, owner.token);
    await device.connect();
    expect(device.socket!.of(10).find((f) => f.Body === '@m1 look')?.Mentions).toEqual([m1!.user.id]);
    device.disconnect();
    // A later message without a mention does not clear it; reading past the mention does.
    await send(owner, { group_id: group.id, body: 'plain' });
    expect(await mentionedIn(m1!, group.id)).toMatchObject({ mentioned: true, unread: 2 });
    await post(t.api, '/im/chat/read', { group_id: group.id, seq: sent.data.seq }, { token: m1!.token });
    expect(await mentionedIn(m1!, group.id)).toMatchObject({ mentioned: false, unread: 1 });
  });

  it('all: for the owner and admins only, one row whatever the size; a withdrawn mention no longer counts', async () => {
    const owner = await registerUser(t.api);
    const [m1, m2] = [await registerUser(t.api), await registerUser(t.api)];
    const group = await groupOf(owner, [m1!, m2!]);
    const refused = await send(m1!, { group_id: group.id, mentions: 'all' });
    expect([refused.status, refused.code, refused.msg]).toEqual([403, 1003, 'only the owner and admins may mention everyone']);
    const all = await send(owner, { group_id: group.id, body: 'meeting at 3', mentions: 'all' });
    expect(await rows(all.data.conversation_id)).toEqual([[0, all.data.seq]]);
    for (const m of [m1!, m2!]) expect(await mentionedIn(m, group.id)).toMatchObject({ mentioned: true });
    expect(await mentionedIn(owner, group.id)).toMatchObject({ mentioned: false });
    await post(t.api, '/im/chat/withdraw/group', { message_id: all.data.id }, { token: owner.token });
    expect(await mentionedIn(m1!, group.id)).toMatchObject({ mentioned: false });
  });

  it('refused: mentions of non-members, in a friend message, malformed or too many; nothing is stored', async () => {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const outsider = await registerUser(t.api);
    const group = await groupOf(owner, [member]);
    const { b } = await makeFriends(t.api, owner);
    const count = async () => Number((await t.dbh.db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const stored = await count();
    const mentionRows = await allRows();
    const notMember = await send(owner, { group_id: group.id, mentions: [member.user.id, outsider.user.id] });
    expect([notMember.status, notMember.msg]).toEqual([400, `mentions: not members of this group: ${outsider.user.id}`]);
    const inFriend = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'x', mentions: [b.user.id] }, { token: owner.token });
    expect([inFriend.status, inFriend.msg]).toEqual([400, 'mentions: only in group messages']);
    for (const bad of [null, 5, true, [], ['x'], [0], [1.5], 'everyone', 'ALL', '1,,2', Array.from({ length: 51 }, (_, i) => i + 1)]) {
      const r = await send(owner, { group_id: group.id, mentions: bad });
      expect([r.status, r.msg], JSON.stringify(bad)).toEqual([400, expect.stringMatching(/^mentions(\.\d+)?: /)]);
    }
    // A form post: ids comma-separated.
    const form = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'form', mentions: `${member.user.id}` }, { token: owner.token, form: true });
    expect(form.code).toBe(0);
    expect(await count()).toBe(stored + 1);
    expect(await allRows()).toBe(mentionRows + 1);
    // Over the socket: the same rules.
    const s = await signedInSocket(t.url, owner.token);
    open.push(s);
    s.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'x', ClientMsgId: 'm-1', Mentions: [outsider.user.id] });
    s.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'sock', ClientMsgId: 'm-2', Mentions: [member.user.id] });
    await s.next((f) => f.Cmd === 18 && f.ClientMsgId === 'm-2');
    await s.next((f) => f.Cmd === 2 && f.ClientMsgId === 'm-1');
    await settle();
    expect(s.of(2).map((f) => f.Body)).toEqual([`mentions: not members of this group: ${outsider.user.id}`]);
  });
});
