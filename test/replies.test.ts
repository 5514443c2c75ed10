import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { SyncDevice } from './helpers/sync-client.js';
import { settle, signedInSocket, type TestSocket } from './helpers/ws.js';

/** `reply_to` / `ReplyTo`: a message answering another of its conversation, over HTTP and the socket, live, in sync and in history. */
describe.each(testDialects())('replies on %s', (dialect) => {
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
  const socket = async (token: string) => {
    const s = await signedInSocket(t.url, token);
    open.push(s);
    return s;
  };
  const storedReplyTo = async (id: number) => (await t.dbh.db.selectFrom('messages').select('reply_to').where('id', '=', id).executeTakeFirstOrThrow()).reply_to;

  it('a friend reply over HTTP and over the socket: stored, pushed with ReplyTo, in history with reply_to', async () => {
    const { a, b } = await makeFriends(t.api);
    const bSocket = await socket(b.token);
    const first = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'lunch?' }, { token: a.token })).data;
    const reply = await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'yes!', reply_to: first.id }, { token: b.token });
    expect(reply.code).toBe(0);
    expect(Number(await storedReplyTo(reply.data.id))).toBe(first.id);
    const aSocket = await socket(a.token);
    aSocket.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'great', ClientMsgId: 'r-1', ReplyTo: reply.data.id });
    const ack = await aSocket.next((f) => f.Cmd === 18);
    const live = await bSocket.next((f) => f.Cmd === 6 && f.Body === 'great');
    expect(live.ReplyTo).toBe(reply.data.id);
    expect(Number(await storedReplyTo(ack.Id!))).toBe(reply.data.id);
    const history = (await post(t.api, '/im/chat/history', { to_uid: b.user.id }, { token: a.token })).data.list as Array<{ body: string; reply_to: number | null }>;
    expect(history.map((m) => [m.body, m.reply_to])).toEqual([['great', reply.data.id], ['yes!', first.id], ['lunch?', null]]);
    // A message with no reply carries no ReplyTo field at all (weIm-go's clients see the frame they know).
    expect(bSocket.frames.find((f) => f.Cmd === 6 && f.Body === 'lunch?')).not.toHaveProperty('ReplyTo');
  });

  it('a reply reaches a device that syncs later, with ReplyTo', async () => {
    const { a, b } = await makeFriends(t.api);
    const first = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'q' }, { token: a.token })).data;
    const reply = (await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'a', reply_to: first.id }, { token: b.token })).data;
    const device = new SyncDevice(t.url, a.token);
    try {
      await device.connect();
      const frames = device.socket!.of(6);
      expect(frames.find((f) => f.Id === reply.id)?.ReplyTo).toBe(first.id);
      expect(frames.find((f) => f.Id === first.id)).not.toHaveProperty('ReplyTo');
    } finally {
      device.disconnect();
    }
  });

  it('a group reply; a reply to another conversation, to a missing message or with a malformed id is refused and nothing is stored', async () => {
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'replies' }, { token: owner.token })).data.group;
    const other = (await post(t.api, '/im/group/create', { name: 'elsewhere' }, { token: owner.token })).data.group;
    const inGroup = (await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'agenda' }, { token: owner.token })).data;
    const inOther = (await post(t.api, '/im/chat/send/group', { group_id: other.id, type: 0, body: 'other' }, { token: owner.token })).data;
    const { a, b } = await makeFriends(t.api, owner);
    const friendMessage = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'dm' }, { token: a.token })).data;
    const ok = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'item 1', reply_to: inGroup.id }, { token: owner.token });
    expect([ok.code, Number(await storedReplyTo(ok.data.id))]).toEqual([0, inGroup.id]);
    const count = async () => Number((await t.dbh.db.selectFrom('messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    for (const replyTo of [inOther.id, friendMessage.id, 987_654_321]) {
      const refused = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'x', reply_to: replyTo }, { token: owner.token });
      expect([refused.status, refused.code, refused.msg]).toEqual([400, 1000, 'reply_to: not a message of this conversation']);
    }
    const strangerReply = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'x', reply_to: inGroup.id }, { token: a.token });
    expect(strangerReply.status).toBe(400);
    for (const bad of [null, 'abc', [inGroup.id], true, 0, -3, 1.5, '']) {
      const refused = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'x', reply_to: bad }, { token: owner.token });
      expect(refused.status, JSON.stringify(bad)).toBe(400);
    }
    const s = await socket(owner.token);
    s.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'x', ClientMsgId: 'bad-1', ReplyTo: inOther.id });
    s.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'x', ClientMsgId: 'bad-2', ReplyTo: 'abc' });
    await s.next(() => s.of(2).length === 2);
    await settle();
    // The malformed frame is refused as it is read, before the other's check answers: by ClientMsgId.
    expect(s.of(2).map((f) => [f.ClientMsgId, f.Body]).sort()).toEqual([['bad-1', 'reply_to: not a message of this conversation'], ['bad-2', expect.stringMatching(/^invalid frame: ReplyTo/)]]);
    expect(await count()).toBe(before);
  });
});
