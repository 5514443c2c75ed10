import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { featuredSocket, settle, type TestSocket } from './helpers/ws.js';

/** `/im/chat/react`: stream events (Cmd 30) for `reactions` sockets, counts in history, refusals. */
describe.each(testDialects())('reactions on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_REACTION_KINDS_MAX: '3' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.stop();
  });
  async function device(token: string, features?: string[], cursors?: Record<string, number>): Promise<TestSocket> {
    const s = await featuredSocket(t.url, token, features, cursors);
    open.push(s);
    return s;
  }
  const react = (token: string, body: Record<string, unknown>) => post(t.api, '/im/chat/react', body, { token });

  it('on and off: Cmd 30 live and by sync to reactions sockets, none to legacy ones (no gap); history counts; repeats change nothing', async () => {
    const { a, b } = await makeFriends(t.api);
    const aModern = await device(a.token, ['reactions']);
    const aLegacy = await device(a.token);
    const msg = (await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'pizza?' }, { token: b.token })).data;
    // The legacy socket has the stream's position from here on (a gap after it would be held).
    await aLegacy.next((f) => f.Cmd === 6 && f.Seq === msg.seq);
    const on = await react(b.token, { message_id: msg.id, emoji: '👍🏽', on: 1 });
    expect(on.data).toEqual({ message_id: msg.id, conversation_id: msg.conversation_id, seq: msg.seq + 1 });
    expect(await aModern.next((f) => f.Cmd === 30)).toMatchObject({ Cmd: 30, FromId: b.user.id, Body: '👍🏽', Id: msg.id, Seq: msg.seq + 1, On: 1 });
    expect((await react(b.token, { message_id: msg.id, emoji: '👍🏽', on: 1 })).data.seq).toBeNull();
    await react(a.token, { message_id: msg.id, emoji: '👍🏽', on: '1' });
    await react(a.token, { message_id: msg.id, emoji: '🇨🇳', on: 1 });
    let history = (await post(t.api, '/im/chat/history', { to_uid: b.user.id }, { token: a.token })).data.list;
    expect(history[0].reactions).toEqual([{ emoji: '👍🏽', count: 2, me: true }, { emoji: '🇨🇳', count: 1, me: true }]);
    const off = await react(b.token, { message_id: msg.id, emoji: '👍🏽', on: 0 });
    expect(off.data.seq).toBe(msg.seq + 4);
    history = (await post(t.api, '/im/chat/history', { to_uid: a.user.id }, { token: b.token })).data.list;
    expect(history[0].reactions).toEqual([{ emoji: '👍🏽', count: 1, me: false }, { emoji: '🇨🇳', count: 1, me: false }]);
    // The legacy socket: no Cmd 30, and the next message comes at once (its stream passed the reactions' seqs).
    const next = (await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'yes' }, { token: b.token })).data;
    expect((await aLegacy.next((f) => f.Cmd === 6 && f.Seq === next.seq, 150)).Body).toBe('yes');
    await settle();
    expect(aLegacy.of(30)).toEqual([]);
    // By sync: every change in order.
    const synced = await device(a.token, ['reactions'], { [msg.conversation_id]: msg.seq });
    expect(synced.of(30).map((f) => [f.FromId, f.Body, f.On])).toEqual([[b.user.id, '👍🏽', 1], [a.user.id, '👍🏽', 1], [a.user.id, '🇨🇳', 1], [b.user.id, '👍🏽', 0]]);
  });

  it('refused, changing nothing: strangers, non-members, withdrawn, too many kinds, not one emoji', async () => {
    const { a, b } = await makeFriends(t.api);
    const stranger = await registerUser(t.api);
    const msg = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'x' }, { token: a.token })).data;
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'r' }, { token: owner.token })).data.group;
    const groupMsg = (await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'g' }, { token: owner.token })).data;
    const count = async () => Number((await t.dbh.db.selectFrom('reaction_events').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    expect((await react(stranger.token, { message_id: msg.id, emoji: '😀', on: 1 })).status).toBe(404);
    expect((await react(stranger.token, { message_id: groupMsg.id, emoji: '😀', on: 1 })).status).toBe(403);
    for (const emoji of ['😀', '😂', '🎉']) expect((await react(a.token, { message_id: msg.id, emoji, on: 1 })).code).toBe(0);
    const fourth = await react(b.token, { message_id: msg.id, emoji: '🔥', on: 1 });
    expect([fourth.status, fourth.msg]).toEqual([409, 'at most 3 kinds of reactions on one message']);
    expect((await react(b.token, { message_id: msg.id, emoji: '😀', on: 1 })).code).toBe(0);
    for (const emoji of ['', 'a', '👍👍', ':+1:', '1', ' 👍', null, 5, ['👍'], '\u0007', 'x'.repeat(70)]) {
      const r = await react(a.token, { message_id: msg.id, emoji, on: 1 });
      expect(r.status, JSON.stringify(emoji)).toBe(400);
    }
    for (const on of [2, -1, true, null, 'yes']) expect((await react(a.token, { message_id: msg.id, emoji: '😀', on })).status, JSON.stringify(on)).toBe(400);
    await post(t.api, '/im/chat/withdraw/user', { message_id: msg.id }, { token: a.token });
    expect((await react(b.token, { message_id: msg.id, emoji: '😂', on: 1 })).reason).toBe('message_withdrawn');
    expect(await count()).toBe(before + 4);
  });
});
