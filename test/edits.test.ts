import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { featuredSocket, settle, type TestSocket } from './helpers/ws.js';

/**
 * Edits (`/im/chat/edit/user|group`): an event of the conversation stream at a seq of its own;
 * Cmd 29 live and by sync to sockets that declared `edit`; others' streams pass it unseen (the next
 * message reaches them live at once, with no gap held); history shows the current body.
 */
describe.each(testDialects())('edits on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_EDIT_WINDOW_SECONDS: '2' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Signs in, declaring `features`, with a Sync from `cursors` when given. */
  async function device(token: string, features?: string[], cursors?: Record<string, number>): Promise<TestSocket> {
    const s = await featuredSocket(t.url, token, features, cursors);
    open.push(s);
    return s;
  }
  const send = (token: string, to: number, body: string) => post(t.api, '/im/chat/send/user', { to_uid: to, type: 0, body }, { token });

  it('a friend edit: Cmd 29 to edit sockets live and by sync, nothing to legacy ones (no gap either); history has the new body and edited_at', async () => {
    const { a, b } = await makeFriends(t.api);
    const modern = await device(b.token, ['edit']);
    const legacy = await device(b.token);
    const first = (await send(a.token, b.user.id, 'see you at 7')).data;
    // The legacy socket has this stream's position from now on.
    await legacy.next((f) => f.Cmd === 6 && f.Seq === first.seq);
    const edited = await post(t.api, '/im/chat/edit/user', { message_id: first.id, body: 'see you at 8' }, { token: a.token });
    expect(edited.code).toBe(0);
    expect(edited.data).toMatchObject({ id: first.id, conversation_id: first.conversation_id, seq: first.seq + 1 });
    expect(await modern.next((f) => f.Cmd === 29)).toEqual({
      Cmd: 29, FromId: a.user.id, ToId: b.user.id, Ope: 0, Type: 0, Body: 'see you at 8', Id: first.id, ConvId: first.conversation_id, Seq: first.seq + 1, Time: edited.data.edited_at,
    });
    // The legacy socket's stream passed the edit's seq: the next message comes at once, not after a gap wait and a repair.
    const next = (await send(a.token, b.user.id, 'ok?')).data;
    const arrived = await legacy.next((f) => f.Cmd === 6 && f.Seq === next.seq, 150);
    expect(arrived.Body).toBe('ok?');
    await settle();
    expect(legacy.of(29)).toEqual([]);
    const history = (await post(t.api, '/im/chat/history', { to_uid: a.user.id }, { token: b.token })).data.list;
    expect(history.find((m: { id: number }) => m.id === first.id)).toMatchObject({ body: 'see you at 8', edited_at: edited.data.edited_at });
    // By sync from before the message: the original, then the edit (edit devices); the original only (legacy).
    const syncedModern = await device(b.token, ['edit'], { [first.conversation_id]: first.seq - 1 });
    expect(syncedModern.frames.filter((f) => f.Cmd === 6 || f.Cmd === 29).map((f) => [f.Cmd, f.Seq, f.Body])).toEqual([[6, first.seq, 'see you at 8'], [29, first.seq + 1, 'see you at 8'], [6, next.seq, 'ok?']]);
    const syncedLegacy = await device(b.token, undefined, { [first.conversation_id]: first.seq - 1 });
    expect(syncedLegacy.frames.filter((f) => f.Seq !== undefined).map((f) => [f.Cmd, f.Seq])).toEqual([[6, first.seq], [6, next.seq]]);
  });

  it('a group edit reaches the members\' edit sockets; a withdraw blanks the edits too', async () => {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'edits' }, { token: owner.token })).data.group;
    const request = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: member.token });
    await post(t.api, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 }, { token: owner.token });
    const sent = (await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'draft' }, { token: owner.token })).data;
    const memberSocket = await device(member.token, ['edit']);
    await post(t.api, '/im/chat/edit/group', { message_id: sent.id, body: 'final' }, { token: owner.token });
    expect((await memberSocket.next((f) => f.Cmd === 29)).Body).toBe('final');
    await post(t.api, '/im/chat/withdraw/group', { message_id: sent.id }, { token: owner.token });
    const edits = await t.dbh.db.selectFrom('message_edits').select('body').where('message_id', '=', sent.id).execute();
    expect(edits.map((e) => e.body)).toEqual(['']);
    const synced = await device(member.token, ['edit'], { [sent.conversation_id]: sent.seq - 1 });
    expect(synced.frames.filter((f) => f.Seq !== undefined).map((f) => [f.Cmd, f.Body])).toEqual([[10, ''], [29, ''], [11, String(sent.id)]]);
  });

  it('refused, changing nothing: not the sender, not text, withdrawn, past the window, wrong ope, bad body, unknown id', async () => {
    const { a, b } = await makeFriends(t.api);
    const text = (await send(a.token, b.user.id, 'hello')).data;
    const seqOf = async () => Number((await t.dbh.db.selectFrom('conversations').select('last_seq').where('id', '=', text.conversation_id).executeTakeFirstOrThrow()).last_seq);
    const before = await seqOf();
    const cases: Array<[string, Record<string, unknown>, string, number, string]> = [
      ['someone else', { message_id: text.id, body: 'x' }, b.token, 403, 'only the sender can edit a message'],
      ['wrong ope', { message_id: text.id, body: 'x' }, a.token, 404, 'message not found'],
      ['unknown id', { message_id: 987_654_321, body: 'x' }, a.token, 404, 'message not found'],
      ['empty body', { message_id: text.id, body: '' }, a.token, 400, ''],
      ['body not a string', { message_id: text.id, body: 5 }, a.token, 400, ''],
      ['id not a number', { message_id: 'abc', body: 'x' }, a.token, 400, ''],
    ];
    for (const [label, body, token, status, msg] of cases) {
      const path = label === 'wrong ope' ? '/im/chat/edit/group' : '/im/chat/edit/user';
      const r = await post(t.api, path, body, { token });
      expect(r.status, label).toBe(status);
      if (msg) expect(r.msg, label).toBe(msg);
    }
    await post(t.api, '/im/chat/withdraw/user', { message_id: text.id }, { token: a.token });
    const afterWithdraw = await seqOf();
    expect((await post(t.api, '/im/chat/edit/user', { message_id: text.id, body: 'x' }, { token: a.token })).reason).toBe('message_withdrawn');
    const old = (await send(a.token, b.user.id, 'old')).data;
    await new Promise((r) => setTimeout(r, 2100));
    expect((await post(t.api, '/im/chat/edit/user', { message_id: old.id, body: 'x' }, { token: a.token })).reason).toBe('edit_window_passed');
    expect(await seqOf()).toBe(afterWithdraw + 1);
    expect(afterWithdraw).toBe(before + 1);
    expect(await t.dbh.db.selectFrom('message_edits').select('seq').where('conversation_id', '=', text.conversation_id).execute()).toEqual([]);
  });
});
