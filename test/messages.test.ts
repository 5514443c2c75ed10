import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testDialects } from './helpers/database.js';
import { login, makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { settle, socketPool } from './helpers/ws.js';
import { friendConversationKey } from '../src/modules/conversations/index.js';

describe.each(testDialects())('messages and delivery on %s', (dialect) => {
  let t: TestNode;
  const pool = socketPool(() => t.url);
  const socket = pool.socket;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_MAX_BODY_CHARS: '50', WEIM_MESSAGES_SEND_MAX_PER_10S: '100000' });
  });
  afterAll(async () => {
    pool.terminateAll();
    await t?.stop();
  });

  const storedMessages = (senderId: number) => t.dbh.db.selectFrom('messages').selectAll().where('sender_id', '=', senderId).orderBy('id').execute();

  /** A group of owner + n members, each with one signed-in socket. */
  async function groupWithSockets(n: number) {
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'team' }, { token: owner.token })).data.group;
    const members = [owner];
    for (let i = 0; i < n; i++) {
      const u = await registerUser(t.api);
      const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
      await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
      members.push(u);
    }
    return { group, members, sockets: await Promise.all(members.map((m) => socket(m.token))) };
  }

  it('HTTP send: stored first, Cmd 6 to every device of both users except the sending one, nobody else', async () => {
    const { a, b } = await makeFriends(t.api);
    const stranger = await registerUser(t.api);
    const a1 = await socket(a.token);
    const a2 = await socket(await login(t.api, a.username));
    const b1 = await socket(b.token);
    const b2 = await socket(await login(t.api, b.username));
    const s = await socket(stranger.token);
    const res = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: '你好 👋', client_msg_id: 'm-1' }, { token: a.token, form: true });
    expect(res.code).toBe(0);
    expect(res.data).toEqual({ id: expect.any(Number), seq: 1, created_at: expect.any(Number), conversation_id: expect.any(Number) });
    const expected = { Cmd: 6, FromId: a.user.id, ToId: b.user.id, Ope: 0, Type: 0, Body: '你好 👋', Id: res.data.id, ConvId: expect.any(Number), Seq: 1, Time: res.data.created_at };
    for (const d of [a2, b1, b2]) expect(await d.next((f) => f.Cmd === 6)).toEqual(expected);
    await settle();
    expect(a1.of(6)).toEqual([]);
    expect(s.of(6)).toEqual([]);
    const rows = await storedMessages(a.user.id);
    expect(rows).toEqual([expect.objectContaining({ id: res.data.id, seq: 1, to_id: b.user.id, ope: 0, type: 0, body: '你好 👋', client_msg_id: 'm-1', withdrawn_at: null })]);
  });

  it('socket send (Cmd 17) is acked with the stored id (Cmd 18); others get Cmd 6', async () => {
    const { a, b } = await makeFriends(t.api);
    const a1 = await socket(a.token);
    const a2 = await socket(await login(t.api, a.username));
    const b1 = await socket(b.token);
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'over the socket', ClientMsgId: 'c-1' });
    const ack = await a1.next((f) => f.Cmd === 18);
    expect(ack).toMatchObject({ Cmd: 18, FromId: a.user.id, ToId: b.user.id, Ope: 0, ClientMsgId: 'c-1', Seq: 1, Id: expect.any(Number), Time: expect.any(Number) });
    expect(await b1.next((f) => f.Cmd === 6)).toMatchObject({ Id: ack.Id, Seq: 1, Body: 'over the socket' });
    expect(await a2.next((f) => f.Cmd === 6)).toMatchObject({ Id: ack.Id });
    await settle();
    expect(a1.of(6)).toEqual([]);
  });

  it('a socket\'s back-to-back sends are stored in the order sent', async () => {
    const { a, b } = await makeFriends(t.api);
    const a1 = await socket(a.token);
    for (let i = 0; i < 30; i++) a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: `n${i}`, ClientMsgId: `o${i}` });
    await a1.next(() => a1.of(18).length === 30, 10_000);
    const rows = await t.dbh.db.selectFrom('messages').select(['seq', 'body']).where('sender_id', '=', a.user.id).orderBy('seq').execute();
    expect(rows.map((r) => r.body)).toEqual(Array.from({ length: 30 }, (_, i) => `n${i}`));
    expect(a1.of(18).map((f) => f.ClientMsgId)).toEqual(Array.from({ length: 30 }, (_, i) => `o${i}`));
  });

  it('a resend with the same client_msg_id returns the first result, is stored once and pushed once', async () => {
    const { a, b } = await makeFriends(t.api);
    const b1 = await socket(b.token);
    const first = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'once', client_msg_id: 'dup' }, { token: a.token });
    const again = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'once', client_msg_id: 'dup' }, { token: a.token });
    const a1 = await socket(a.token);
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'once', ClientMsgId: 'dup' });
    const ack = await a1.next((f) => f.Cmd === 18);
    const parallel = await Promise.all([1, 2, 3].map(() => post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'p', client_msg_id: 'par' }, { token: a.token })));
    expect(again.data).toEqual(first.data);
    expect(ack.Id).toBe(first.data.id);
    expect(new Set(parallel.map((p) => p.data.id)).size).toBe(1);
    expect(await storedMessages(a.user.id)).toHaveLength(2);
    await settle();
    expect(b1.of(6).map((f) => f.Body)).toEqual(['once', 'p']);
  });

  it('seq is gap-free per conversation under concurrent sends from both sides', async () => {
    const { a, b } = await makeFriends(t.api);
    const sends = Array.from({ length: 30 }, (_, i) =>
      post(t.api, '/im/chat/send/user', { to_uid: i % 2 ? a.user.id : b.user.id, type: 0, body: `n${i}` }, { token: i % 2 ? b.token : a.token }));
    const results = await Promise.all(sends);
    expect(results.map((r) => r.data.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const { c } = { c: await makeFriends(t.api) };
    const other = await post(t.api, '/im/chat/send/user', { to_uid: c.b.user.id, type: 0, body: 'x' }, { token: c.a.token });
    expect(other.data.seq).toBe(1);
  });

  it('refuses strangers, non-members, bad types and bodies, storing nothing', async () => {
    const a = await registerUser(t.api);
    const stranger = await registerUser(t.api);
    const a1 = await socket(a.token);
    const notFriend = await post(t.api, '/im/chat/send/user', { to_uid: stranger.user.id, type: 0, body: 'hi' }, { token: a.token });
    expect([notFriend.status, notFriend.code]).toEqual([403, 1003]);
    a1.send({ Cmd: 17, ToId: stranger.user.id, Ope: 0, Type: 0, Body: 'hi', ClientMsgId: 'x-1' });
    expect(await a1.next((f) => f.Cmd === 2)).toMatchObject({ Body: 'you can only message your friends', ClientMsgId: 'x-1' });
    const { group } = await groupWithSockets(0);
    const notMember = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'hi' }, { token: a.token });
    expect([notMember.status, notMember.code]).toEqual([403, 1003]);
    const { a: f1, b: f2 } = await makeFriends(t.api);
    for (const body of [
      { type: 5, body: 'x' },
      { type: 0, body: '' },
      { type: 0, body: 'y'.repeat(51) },
      { type: 1, body: 'not a url' },
      { type: 4, body: '{"longitude": 200, "latitude": 0}' },
      { type: 0, body: 'ok', client_msg_id: 'z'.repeat(65) },
    ]) {
      const r = await post(t.api, '/im/chat/send/user', { to_uid: f2.user.id, ...body }, { token: f1.token });
      expect([r.status, r.code], JSON.stringify(body)).toEqual([400, 1000]);
    }
    const ok = await post(t.api, '/im/chat/send/user', { to_uid: f2.user.id, type: 4, body: '{"longitude":116.4,"latitude":39.9}' }, { token: f1.token });
    expect(ok.code).toBe(0);
    expect(await storedMessages(a.user.id)).toHaveLength(0);
    expect(await storedMessages(f1.user.id)).toHaveLength(1);
    // Refused in the writer's transaction: the stranger pair has no conversation either.
    expect(await t.dbh.db.selectFrom('conversations').select('id').where('conv_key', '=', friendConversationKey(a.user.id, stranger.user.id)).execute()).toEqual([]);
  });

  it("a friend's text message goes to the writer without a friendship lookup on the node first; a reply is checked before", async () => {
    const lookups = vi.spyOn(t.node.services.friends, 'areFriends');
    try {
      const { a, b } = await makeFriends(t.api);
      const stranger = await registerUser(t.api);
      const text = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'hi' }, { token: a.token });
      expect(text.code).toBe(0);
      const refused = await post(t.api, '/im/chat/send/user', { to_uid: stranger.user.id, type: 0, body: 'hi' }, { token: a.token });
      expect([refused.status, refused.code]).toEqual([403, 1003]);
      expect(lookups).not.toHaveBeenCalled();
      const reply = await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 're', reply_to: text.data.id }, { token: b.token });
      expect(reply.code).toBe(0);
      const strangerReply = await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 're', reply_to: text.data.id }, { token: stranger.token });
      expect([strangerReply.status, strangerReply.code]).toEqual([403, 1003]);
      expect(lookups.mock.calls).toEqual([[b.user.id, a.user.id], [stranger.user.id, a.user.id]]);
      expect((await storedMessages(b.user.id)).map((m) => [m.body, m.reply_to])).toEqual([['re', text.data.id]]);
      expect(await storedMessages(stranger.user.id)).toEqual([]);
    } finally {
      lookups.mockRestore();
    }
  });

  it('ending a friendship stops messages at once, from either side', async () => {
    const { a, b } = await makeFriends(t.api);
    expect((await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'hi' }, { token: a.token })).code).toBe(0);
    expect((await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'hi' }, { token: b.token })).code).toBe(0);
    expect((await post(t.api, '/im/friend/del', { f_uid: a.user.id }, { token: b.token })).code).toBe(0);
    const fromA = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'still?' }, { token: a.token });
    const fromB = await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'still?' }, { token: b.token });
    expect([fromA.status, fromA.code, fromB.status, fromB.code]).toEqual([403, 1003, 403, 1003]);
  });

  it('an unfriend closes the pair\'s conversation in its transaction; friends again (by accept, or by asking back) it opens and seqs go on', async () => {
    const { a, b } = await makeFriends(t.api);
    const send = (from: typeof a, to: typeof a, body: string) => post(t.api, '/im/chat/send/user', { to_uid: to.user.id, type: 0, body }, { token: from.token });
    const conversation = async () => {
      const row = await t.dbh.db.selectFrom('conversations').select(['last_seq', 'closed']).where('conv_key', '=', friendConversationKey(a.user.id, b.user.id)).executeTakeFirstOrThrow();
      return [Number(row.last_seq), Number(row.closed)];
    };
    expect((await send(a, b, 'one')).data.seq).toBe(1);
    expect((await post(t.api, '/im/friend/del', { f_uid: b.user.id }, { token: a.token })).code).toBe(0);
    expect(await conversation()).toEqual([1, 1]);
    // Friends again through a request and its acceptance.
    await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    expect((await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token })).code).toBe(0);
    expect(await conversation()).toEqual([1, 0]);
    expect((await send(b, a, 'two')).data.seq).toBe(2);
    // Ended again, then friends again by asking back a user who had asked first.
    expect((await post(t.api, '/im/friend/del', { f_uid: a.user.id }, { token: b.token })).code).toBe(0);
    expect(await conversation()).toEqual([2, 1]);
    await post(t.api, '/im/friend/add/request', { f_uid: a.user.id }, { token: b.token });
    expect((await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token })).data.accepted).toBe(true);
    expect(await conversation()).toEqual([2, 0]);
    expect((await send(a, b, 'three')).data.seq).toBe(3);
  });

  it('withdraw (user): sender only, within the window; Cmd 7 to both users', async () => {
    const { a, b } = await makeFriends(t.api);
    const b1 = await socket(b.token);
    const sent = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'oops' }, { token: a.token });
    const byOther = await post(t.api, '/im/chat/withdraw/user', { message_id: sent.data.id }, { token: b.token });
    expect([byOther.status, byOther.code]).toEqual([403, 1003]);
    const wrongKind = await post(t.api, '/im/chat/withdraw/group', { message_id: sent.data.id }, { token: a.token });
    expect([wrongKind.status, wrongKind.code]).toEqual([404, 1002]);
    expect((await post(t.api, '/im/chat/withdraw/user', { message_id: sent.data.id }, { token: a.token, form: true })).code).toBe(0);
    expect(await b1.next((f) => f.Cmd === 7)).toEqual({
      Cmd: 7, FromId: a.user.id, ToId: b.user.id, Ope: 0, Type: 0, Body: String(sent.data.id), Id: sent.data.id, ConvId: expect.any(Number), Seq: 2, Time: expect.any(Number),
    });
    const row = (await storedMessages(a.user.id))[0]!;
    expect([row.body, row.withdrawn_at]).toEqual(['', expect.any(Number)]);
    const old = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'old' }, { token: a.token });
    await t.dbh.db.updateTable('messages').set({ created_at: Date.now() - 121_000 }).where('id', '=', old.data.id).execute();
    const late = await post(t.api, '/im/chat/withdraw/user', { message_id: old.data.id }, { token: a.token });
    expect([late.status, late.code]).toEqual([409, 1000]);
    expect((await storedMessages(a.user.id))[1]!.withdrawn_at).toBeNull();
  });

  it('group send: stored once, Cmd 10 to every member device except the sender; withdraw → Cmd 11', async () => {
    const { group, members, sockets: ss } = await groupWithSockets(3);
    const outsider = await registerUser(t.api);
    const o = await socket(outsider.token);
    const sender = members[1]!;
    const senderSecond = await socket(await login(t.api, sender.username));
    const res = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'hello team' }, { token: sender.token });
    expect(res.code).toBe(0);
    const expected = { Cmd: 10, FromId: sender.user.id, ToId: group.id, Ope: 1, Type: 0, Body: 'hello team', Id: res.data.id, ConvId: expect.any(Number), Seq: res.data.seq, Time: res.data.created_at };
    for (const [i, s] of ss.entries()) if (i !== 1) expect(await s.next((f) => f.Cmd === 10)).toEqual(expected);
    expect(await senderSecond.next((f) => f.Cmd === 10)).toEqual(expected);
    await settle();
    expect(ss[1]!.of(10)).toEqual([]);
    expect(o.of(10)).toEqual([]);
    expect(await storedMessages(sender.user.id)).toHaveLength(1);
    expect((await post(t.api, '/im/chat/withdraw/group', { message_id: res.data.id }, { token: sender.token })).code).toBe(0);
    for (const s of ss) expect(await s.next((f) => f.Cmd === 11)).toMatchObject({ FromId: sender.user.id, ToId: group.id, Ope: 1, Body: String(res.data.id), Seq: res.data.seq + 1 });
  });

  it('social notifications reach sockets: Cmd 8, 9, 12, 13, 14', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const sa = await socket(a.token);
    const sb = await socket(b.token);
    await post(t.api, '/im/friend/add/request', { f_uid: b.user.id, reason: 'hey' }, { token: a.token });
    expect(await sb.next((f) => f.Cmd === 8)).toMatchObject({ FromId: a.user.id, ToId: b.user.id, Body: 'hey' });
    await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token });
    expect(await sa.next((f) => f.Cmd === 9)).toMatchObject({ FromId: b.user.id, ToId: a.user.id });
    const group = (await post(t.api, '/im/group/create', { name: 'n' }, { token: a.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id, reason: 'me' }, { token: b.token });
    expect(await sa.next((f) => f.Cmd === 12)).toMatchObject({ FromId: b.user.id, ToId: group.id, Ope: 1, Body: 'me' });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: a.token });
    expect(await sb.next((f) => f.Cmd === 13)).toMatchObject({ FromId: a.user.id, ToId: group.id });
    await post(t.api, '/im/group/shot', { group_id: group.id, user_id: b.user.id }, { token: a.token });
    expect(await sb.next((f) => f.Cmd === 14)).toMatchObject({ FromId: a.user.id, ToId: group.id });
    await settle();
    expect(sa.frames.filter((f) => [8, 13, 14].includes(f.Cmd))).toEqual([]);
    expect(sb.frames.filter((f) => [9, 12].includes(f.Cmd))).toEqual([]);
  });

  it('group socket send (Cmd 17, Ope 1): acked with the stored id, Cmd 10 to the others; a non-member gets Cmd 2 with its id and stores nothing', async () => {
    const { group, members, sockets: ss } = await groupWithSockets(2);
    const outsider = await registerUser(t.api);
    const o = await socket(outsider.token);
    ss[1]!.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'from a socket', ClientMsgId: 'g-1' });
    const ack = await ss[1]!.next((f) => f.Cmd === 18);
    // Joins took the group stream's first seqs (Cmd 31 join events, which these sockets did not declare).
    const joins = (await t.dbh.db.selectFrom('group_events').select('seq').where('group_id', '=', group.id).execute()).length;
    expect(ack).toMatchObject({ Cmd: 18, FromId: members[1]!.user.id, ToId: group.id, Ope: 1, ClientMsgId: 'g-1', Seq: joins + 1, Id: expect.any(Number) });
    for (const i of [0, 2]) expect(await ss[i]!.next((f) => f.Cmd === 10)).toMatchObject({ Id: ack.Id, Seq: joins + 1, Body: 'from a socket' });
    o.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'let me in', ClientMsgId: 'g-2' });
    expect(await o.next((f) => f.Cmd === 2)).toMatchObject({ Body: 'you are not a member of this group', ClientMsgId: 'g-2' });
    await settle();
    expect(ss[1]!.of(10)).toEqual([]);
    expect(ss.flatMap((s) => s.of(10)).map((f) => f.Body)).toEqual(['from a socket', 'from a socket']);
    expect(o.of(10)).toEqual([]);
    expect(await storedMessages(outsider.user.id)).toHaveLength(0);
    expect((await storedMessages(members[1]!.user.id)).map((r) => r.body)).toEqual(['from a socket']);
  });

  it('malformed and oversized send frames get Cmd 2 and store nothing; the socket goes on', async () => {
    const { a, b } = await makeFriends(t.api);
    const a1 = await socket(a.token);
    const b1 = await socket(b.token);
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'no client id is fine, a bad one is not', ClientMsgId: 7 });
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 3, Type: 0, Body: 'bad ope' });
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'y'.repeat(51), ClientMsgId: 'too-long' });
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'z'.repeat(70_000), ClientMsgId: 'oversized' });
    await a1.next(() => a1.of(2).length >= 4);
    expect(a1.of(2).find((f) => f.ClientMsgId === 'too-long')).toBeDefined();
    await settle();
    expect(await storedMessages(a.user.id)).toHaveLength(0);
    expect(b1.of(6)).toEqual([]);
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'and now a good one', ClientMsgId: 'good' });
    expect(await b1.next((f) => f.Cmd === 6)).toMatchObject({ Body: 'and now a good one', Seq: 1 });
    expect((await storedMessages(a.user.id)).map((r) => r.body)).toEqual(['and now a good one']);
  });

  it('withdraw frames reach every device of both users (Cmd 7) or of the members (Cmd 11), and nobody else', async () => {
    const { a, b } = await makeFriends(t.api);
    const stranger = await registerUser(t.api);
    const a1 = await socket(a.token);
    const a2 = await socket(await login(t.api, a.username));
    const b1 = await socket(b.token);
    const s = await socket(stranger.token);
    const sent = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'take back' }, { token: a.token });
    expect((await post(t.api, '/im/chat/withdraw/user', { message_id: sent.data.id }, { token: a.token })).code).toBe(0);
    for (const d of [a1, a2, b1]) expect(await d.next((f) => f.Cmd === 7)).toMatchObject({ Id: sent.data.id, Seq: 2 });

    const { group, members, sockets: ss } = await groupWithSockets(1);
    const g = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'team, take back' }, { token: members[1]!.token });
    const notSender = await post(t.api, '/im/chat/withdraw/group', { message_id: g.data.id }, { token: members[0]!.token });
    expect([notSender.status, notSender.code]).toEqual([403, 1003]);
    const unknown = await post(t.api, '/im/chat/withdraw/group', { message_id: g.data.id + 1_000_000 }, { token: members[1]!.token });
    expect([unknown.status, unknown.code]).toEqual([404, 1002]);
    expect((await post(t.api, '/im/chat/withdraw/group', { message_id: g.data.id }, { token: members[1]!.token })).code).toBe(0);
    for (const m of ss) expect(await m.next((f) => f.Cmd === 11)).toMatchObject({ Id: g.data.id, Seq: g.data.seq + 1 });
    await settle();
    expect(s.frames.filter((f) => [7, 11].includes(f.Cmd))).toEqual([]);
    expect([a1, a2, b1].map((d) => d.of(11).length)).toEqual([0, 0, 0]);
    expect(ss.map((m) => m.of(11).length)).toEqual([1, 1]);
    expect((await storedMessages(members[1]!.user.id))[0]!.withdrawn_at).toEqual(expect.any(Number));
  });

  it('a member who left or was kicked can no longer withdraw in the group: 403, nothing changes, no Cmd 11', async () => {
    const { group, members, sockets: ss } = await groupWithSockets(2);
    const [owner, kicked, leaver] = members as [typeof members[0], typeof members[0], typeof members[0]];
    const fromKicked = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'mine' }, { token: kicked.token });
    const fromLeaver = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'also mine' }, { token: leaver.token });
    expect((await post(t.api, '/im/group/shot', { group_id: group.id, user_id: kicked.user.id }, { token: owner.token })).code).toBe(0);
    expect((await post(t.api, '/im/group/leave', { group_id: group.id }, { token: leaver.token })).code).toBe(0);
    for (const [who, sent] of [[kicked, fromKicked], [leaver, fromLeaver]] as const) {
      const res = await post(t.api, '/im/chat/withdraw/group', { message_id: sent.data.id }, { token: who.token });
      expect([res.status, res.code]).toEqual([403, 1003]);
      expect((await storedMessages(who.user.id)).map((r) => [r.body, r.withdrawn_at])).toEqual([[sent === fromKicked ? 'mine' : 'also mine', null]]);
    }
    await settle();
    expect(ss.map((m) => m.of(11).length)).toEqual([0, 0, 0]);
  });
});
