import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConversationKind, friendConversationKey } from '../src/modules/conversations/index.js';
import { testDialects } from './helpers/database.js';
import { makeFriends, post } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { openSocket, settle, type TestSocket } from './helpers/ws.js';

/** Live frames reach each socket once and in seq order; a gap is read from the database. */
describe.each(testDialects())('stream order and repair on %s', (dialect) => {
  let t: TestNode;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_GATEWAY_REORDER_WAIT_MS: '150' });
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await t?.stop();
  });

  /** A socket signed in with `Sync` (empty cursors), past its Cmd 23. */
  async function syncedSocket(token: string): Promise<TestSocket> {
    const s = await openSocket(t.url);
    sockets.push(s);
    s.send({ Cmd: 3, Body: token, Sync: { Cursors: {}, EventSeq: 0 } });
    await s.next((f) => f.Cmd === 23);
    return s;
  }

  /** Stores a friend message without pushing it: a commit whose push was lost (its node died). */
  async function storeSilently(from: number, to: number, body: string, clientMsgId: string | null = null) {
    return t.node.services.writer.write({
      convKey: friendConversationKey(from, to), kind: ConversationKind.Friend, userLo: Math.min(from, to), userHi: Math.max(from, to),
      groupId: null, senderId: from, toId: to, type: 0, body, clientMsgId, replyTo: null, mentions: null,
    });
  }

  /** Stream repairs this node ran so far (`weim_stream_repairs_total`, every outcome). */
  const repairs = async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    return [...metrics.matchAll(/^weim_stream_repairs_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it('the sending socket is not sent its own message, and the next message of the conversation reaches it at once', async () => {
    const { a, b } = await makeFriends(t.api);
    const as = await syncedSocket(a.token);
    as.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'mine', ClientMsgId: 'own-1' });
    expect(await as.next((f) => f.Cmd === 18)).toMatchObject({ Seq: 1 });
    const repairsBefore = await repairs();
    await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'theirs' }, { token: b.token });
    await as.next((f) => f.Cmd === 6 && f.Body === 'theirs');
    await settle(400);
    expect(as.of(6).map((f) => f.Seq)).toEqual([2]);
    // Not held for the reorder wait as if seq 1 were missing: no repair ran for it.
    expect(await repairs()).toBe(repairsBefore);
  });

  it('a resend of a message whose push was lost pushes it; a socket that has it already gets nothing more', async () => {
    const { a, b } = await makeFriends(t.api);
    const bs = await syncedSocket(b.token);
    const lost = await storeSilently(a.user.id, b.user.id, 'resent', 'r-1');
    const again = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'resent', client_msg_id: 'r-1' }, { token: a.token });
    expect(again.data.id).toBe(lost.id);
    expect(await bs.next((f) => f.Cmd === 6)).toMatchObject({ Id: lost.id, Seq: 1 });
    await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'resent', client_msg_id: 'r-1' }, { token: a.token });
    await settle(300);
    expect(bs.of(6)).toHaveLength(1);
  });

  it('in a sync, the sender\'s own messages carry the ClientMsgId they were sent with (the answer to a send cut off by a reconnect)', async () => {
    const { a, b } = await makeFriends(t.api);
    await storeSilently(a.user.id, b.user.id, 'cut off', 'c-9');
    const as = await syncedSocket(a.token);
    const bs = await syncedSocket(b.token);
    expect(as.of(6)).toEqual([expect.objectContaining({ Body: 'cut off', ClientMsgId: 'c-9' })]);
    expect(bs.of(6)).toEqual([expect.not.objectContaining({ ClientMsgId: expect.anything() })]);
  });

  it('a frame whose predecessor was never pushed waits, then the predecessor is read from the database and both arrive in order', async () => {
    const { a, b } = await makeFriends(t.api);
    const first = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'one' }, { token: a.token });
    const bs = await syncedSocket(b.token);
    const lost = await storeSilently(a.user.id, b.user.id, 'never pushed');
    const sent = await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'three' }, { token: a.token });
    expect([first.data.seq, lost.seq, sent.data.seq]).toEqual([1, 2, 3]);
    await bs.next((f) => f.Cmd === 6 && f.Seq === 3, 3000);
    const live = bs.frames.filter((f) => f.Cmd === 6 && f.Seq! > 1);
    expect(live.map((f) => [f.Seq, f.Body])).toEqual([[2, 'never pushed'], [3, 'three']]);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(Number(/^weim_stream_repairs_total\{outcome="ok"\} (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^weim_stream_repair_frames_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it('after another node leaves, a commit it never pushed reaches the sockets here live', async () => {
    const { a, b } = await makeFriends(t.api);
    const bs = await syncedSocket(b.token);
    const lost = await storeSilently(a.user.id, b.user.id, 'last words');
    await settle(300);
    expect(bs.of(6)).toEqual([]);
    // What the cluster wiring does when discovery reports a node gone.
    await t.node.gateway.repairStreams();
    expect(await bs.next((f) => f.Cmd === 6)).toMatchObject({ Id: lost.id, Seq: 1, Body: 'last words' });
    await t.node.gateway.repairStreams();
    await settle();
    expect(bs.of(6)).toHaveLength(1);
  });

  it('a standalone Cmd 22 after a sign-in with Sync sends nothing the socket received live', async () => {
    const { a, b } = await makeFriends(t.api);
    const bs = await syncedSocket(b.token);
    for (const body of ['x', 'y', 'z']) await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body }, { token: a.token });
    await bs.next((f) => f.Cmd === 6 && f.Body === 'z');
    const convId = bs.of(6)[0]!.ConvId!;
    // The client's cursor lags (it has not processed the frames yet): only what it lacks is new.
    bs.send({ Cmd: 22, Cursors: { [convId]: 1 }, EventSeq: 0 });
    await bs.next((f) => f.Cmd === 23 && bs.of(23).length === 2);
    expect(bs.of(6).map((f) => f.Seq)).toEqual([1, 2, 3]);
  });
});
