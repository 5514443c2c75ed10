import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { SyncDevice } from './helpers/sync-client.js';
import { openSocket, settle, signedInSocket } from './helpers/ws.js';

describe.each(testDialects())('sync after reconnect on %s', (dialect) => {
  let t: TestNode;
  const devices: SyncDevice[] = [];
  const device = (token: string) => {
    const d = new SyncDevice(t.url, token);
    devices.push(d);
    return d;
  };
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_PRESENCE_COALESCE_MS: '100' });
  });
  afterAll(async () => {
    for (const d of devices) d.disconnect();
    await t?.stop();
  });

  /** A: the user who goes offline; F: a friend; a group G of owner S (sender) with A in it. */
  async function scene() {
    const { a, b: f } = await makeFriends(t.api);
    const s = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'sync' }, { token: s.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: a.token });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: s.token });
    return { a, f, s, group };
  }
  const sendFriend = (from: { token: string }, to: number, body: string) => post(t.api, '/im/chat/send/user', { to_uid: to, type: 0, body }, { token: from.token });
  const sendGroup = (from: { token: string }, groupId: number, body: string) => post(t.api, '/im/chat/send/group', { group_id: groupId, type: 0, body }, { token: from.token });

  it('a client that missed 50 friend and 50 group messages, a withdraw and a friend request gets exactly those, in order, then live traffic', async () => {
    const { a, f, s, group } = await scene();
    const d = device(a.token);
    await d.connect();
    const early = await sendFriend(f, a.user.id, 'before');
    const convF = `c${(await t.dbh.db.selectFrom('messages').select('conversation_id').where('id', '=', early.data.id).executeTakeFirstOrThrow()).conversation_id}`;
    await d.waitFor(convF, 1);
    const eventsBefore = d.cursor('e');
    d.disconnect();

    for (let i = 0; i < 50; i++) await sendFriend(f, a.user.id, `f${i}`);
    for (let i = 0; i < 50; i++) await sendGroup(s, group.id, `g${i}`);
    expect((await post(t.api, '/im/chat/withdraw/user', { message_id: early.data.id }, { token: f.token })).code).toBe(0);
    const stranger = await registerUser(t.api);
    await post(t.api, '/im/friend/add/request', { f_uid: a.user.id, reason: 'hi' }, { token: stranger.token });

    const before = d.received.length;
    await d.connect();
    await settle(200);
    const got = d.received.slice(before);
    const friendFrames = got.filter((r) => r.key === convF);
    expect(friendFrames.map((r) => r.seq)).toEqual(Array.from({ length: 51 }, (_, i) => i + 2));
    expect(friendFrames.slice(0, 50).map((r) => [r.frame.Cmd, r.frame.Body])).toEqual(Array.from({ length: 50 }, (_, i) => [6, `f${i}`]));
    expect(friendFrames[50]!.frame).toMatchObject({ Cmd: 7, Body: String(early.data.id) });
    // The group stream after `a`'s join event (seq 1, which the first connect synced).
    const groupFrames = got.filter((r) => r.key !== convF && r.key !== 'e');
    expect(groupFrames.map((r) => [r.frame.Cmd, r.frame.Body])).toEqual(Array.from({ length: 50 }, (_, i) => [10, `g${i}`]));
    expect(groupFrames.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(d.received.slice(0, before).filter((r) => r.frame.Cmd === 31).map((r) => [r.frame.Body, r.seq])).toEqual([['join', 1]]);
    const events = got.filter((r) => r.key === 'e');
    expect(events.map((r) => [r.frame.Cmd, r.frame.FromId, r.seq])).toEqual([[8, stranger.user.id, eventsBefore + 1]]);
    expect(got).toHaveLength(50 + 1 + 50 + 1);

    const live = await sendFriend(f, a.user.id, 'after');
    await d.waitFor(convF, 53);
    expect(d.received.at(-1)!.frame).toMatchObject({ Cmd: 6, Body: 'after', Id: live.data.id, Seq: 53 });
    for (const seqs of d.seqsByStream().values()) expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('seqs the client holds above its cursor (Held: its own acked send past a gap) are not sent again, on sign-in and Cmd 22', async () => {
    const { a, f } = await scene();
    // Seqs 1–5: 1, 2 and 4, 5 from the friend; 3 is A's own (acked). A holds 1 and 3, not 2 (a gap).
    const sent = [];
    for (const [from, to, body] of [[f, a, 'm1'], [f, a, 'm2'], [a, f, 'mine'], [f, a, 'm4'], [f, a, 'm5']] as const) {
      sent.push((await sendFriend(from, to.user.id, body)).data);
    }
    const conv = String(sent[0].conversation_id);
    const bodies = (s: Awaited<ReturnType<typeof openSocket>>) => s.frames.filter((x) => x.Cmd === 6).map((x) => [x.Seq, x.Body]);

    const signIn = await openSocket(t.url);
    signIn.send({ Cmd: 3, Body: a.token, Sync: { Cursors: { [conv]: 1 }, EventSeq: 0, Held: { [conv]: [3] } } });
    await signIn.next((x) => x.Cmd === 23);
    expect(bodies(signIn)).toEqual([[2, 'm2'], [4, 'm4'], [5, 'm5']]);

    const again = await openSocket(t.url);
    again.send({ Cmd: 3, Body: a.token });
    await again.next((x) => x.Cmd === 4);
    again.send({ Cmd: 22, Cursors: { [conv]: 1 }, EventSeq: 0, Held: { [conv]: [3, 5] } });
    await again.next((x) => x.Cmd === 23);
    expect(bodies(again)).toEqual([[2, 'm2'], [4, 'm4']]);

    // Without Held the own message comes, as docs/protocol.md says (the client tells it by its Id).
    const plain = await openSocket(t.url);
    plain.send({ Cmd: 3, Body: a.token, Sync: { Cursors: { [conv]: 1 }, EventSeq: 0 } });
    await plain.next((x) => x.Cmd === 23);
    expect(bodies(plain)).toEqual([[2, 'm2'], [3, 'mine'], [4, 'm4'], [5, 'm5']]);

    // Malformed or too many: refused with the field named, nothing synced.
    const bad = await openSocket(t.url);
    bad.send({ Cmd: 22, Cursors: {}, Held: { [conv]: [0] } });
    bad.send({ Cmd: 3, Body: a.token, Sync: { Cursors: {}, Held: { [conv]: Array.from({ length: 1001 }, (_, i) => i + 1) } } });
    bad.send({ Cmd: 3, Body: a.token, Sync: { Cursors: {}, Held: { [conv]: ['3'] } } });
    await expect.poll(() => bad.of(2).length).toBe(3);
    for (const refusal of bad.of(2)) expect(refusal.Body).toMatch(/Held/);
    expect(bad.frames.filter((x) => x.Cmd !== 2)).toEqual([]);
    for (const x of [signIn, again, plain, bad]) x.close();
  });

  it('the same while 5 senders keep sending during the sync: no gap, no repeat', async () => {
    const { a, f, s, group } = await scene();
    const others = await Promise.all([1, 2, 3].map(async () => {
      const u = await registerUser(t.api);
      const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
      await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: s.token });
      return u;
    }));
    const d = device(a.token);
    await d.connect();
    d.disconnect();
    for (let i = 0; i < 60; i++) await (i % 2 ? sendFriend(f, a.user.id, `m${i}`) : sendGroup(s, group.id, `m${i}`));
    let running = true;
    const senders = [f, s, ...others].map(async (u, k) => {
      let n = 0;
      while (running && n < 200) {
        await (k === 0 ? sendFriend(u, a.user.id, `live${n}`) : sendGroup(u, group.id, `live${k}-${n}`));
        n++;
      }
    });
    await settle(30);
    await d.connect();
    await settle(150);
    running = false;
    await Promise.all(senders);
    const conversations = await t.dbh.db.selectFrom('conversations').select(['id', 'last_seq'])
      .where((eb) => eb.or([eb('group_id', '=', group.id), eb('user_lo', '=', Math.min(a.user.id, f.user.id)).and('user_hi', '=', Math.max(a.user.id, f.user.id))]))
      .execute();
    expect(conversations).toHaveLength(2);
    for (const c of conversations) await d.waitFor(`c${c.id}`, Number(c.last_seq));
    await settle(100);
    const byStream = d.seqsByStream();
    for (const c of conversations) {
      expect(byStream.get(`c${c.id}`), `conversation ${c.id}`).toEqual(Array.from({ length: Number(c.last_seq) }, (_, i) => i + 1));
    }
  });

  it('a standalone sync (Cmd 22) after a plain sign-in does not resend frames already delivered live', async () => {
    const { a, f } = await scene();
    const missed = await sendFriend(f, a.user.id, 'missed');
    const s = await signedInSocket(t.url, a.token);
    const live = await sendFriend(f, a.user.id, 'live before sync');
    await s.next((fr) => fr.Cmd === 6 && fr.Body === 'live before sync');
    s.send({ Cmd: 22, Cursors: {}, EventSeq: 0 });
    const done = await s.next((fr) => fr.Cmd === 23);
    const bodies = s.of(6).map((fr) => fr.Body);
    expect(bodies).toEqual(['live before sync', 'missed']);
    expect(done.Body).toEqual(expect.any(String));
    const after = await sendFriend(f, a.user.id, 'after sync');
    await s.next((fr) => fr.Cmd === 6 && fr.Body === 'after sync');
    expect(s.of(6).map((fr) => fr.Seq)).toEqual([live.data.seq, missed.data.seq, after.data.seq]);
    s.close();
  });

  it('a kicked member cannot read later group history, and sync stops at the kick', async () => {
    const { a, s, group } = await scene();
    await sendGroup(s, group.id, 'while a member');
    const d = device(a.token);
    await d.connect();
    d.disconnect();
    await post(t.api, '/im/group/shot', { group_id: group.id, user_id: a.user.id }, { token: s.token });
    await sendGroup(s, group.id, 'after the kick');
    const history = await post(t.api, '/im/chat/history', { group_id: group.id }, { token: a.token });
    expect([history.status, history.code]).toEqual([403, 1003]);
    const before = d.received.length;
    await d.connect();
    await settle(100);
    const got = d.received.slice(before);
    expect(got.map((r) => r.frame.Cmd)).toEqual([14]);
    const list = await post(t.api, '/im/conversation/list', {}, { token: a.token });
    expect(list.data.list.filter((c: { ope: number }) => c.ope === 1)).toEqual([]);
  });

  it('history is paged newest first, shows withdrawn messages without body, and starts at the join for groups', async () => {
    const { a, f, s, group } = await scene();
    const sent = [];
    for (let i = 0; i < 5; i++) sent.push((await sendFriend(f, a.user.id, `h${i}`)).data);
    await post(t.api, '/im/chat/withdraw/user', { message_id: sent[1].id }, { token: f.token });
    const page1 = await post(t.api, '/im/chat/history', { to_uid: f.user.id, limit: 3 }, { token: a.token, form: true });
    expect(page1.data.list.map((m: { body: string }) => m.body)).toEqual(['h4', 'h3', 'h2']);
    expect(page1.data.has_more).toBe(true);
    const page2 = await post(t.api, '/im/chat/history', { to_uid: f.user.id, limit: 3, before_seq: page1.data.list[2].seq }, { token: a.token });
    expect(page2.data.list.map((m: { body: string; withdrawn: boolean }) => [m.body, m.withdrawn])).toEqual([['', true], ['h0', false]]);
    expect(page2.data.has_more).toBe(false);
    await sendGroup(s, group.id, 'g-before-late-join');
    const late = await registerUser(t.api);
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: late.token });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: s.token });
    await sendGroup(s, group.id, 'g-after-late-join');
    const lateHistory = await post(t.api, '/im/chat/history', { group_id: group.id }, { token: late.token });
    expect(lateHistory.data.list.map((m: { body: string }) => m.body)).toEqual(['g-after-late-join']);
    const fullHistory = await post(t.api, '/im/chat/history', { group_id: group.id }, { token: a.token });
    expect(fullHistory.data.list.map((m: { body: string }) => m.body)).toEqual(['g-after-late-join', 'g-before-late-join']);
    const bad = await post(t.api, '/im/chat/history', { to_uid: f.user.id, group_id: group.id }, { token: a.token });
    expect([bad.status, bad.code]).toEqual([400, 1000]);
  });

  it('unread counts match after reads on two devices; the other device and the peer are told', async () => {
    const { a, f } = await scene();
    const d1 = device(a.token);
    const d2 = device((await post(t.api, '/login', { username: a.username, password: a.password })).data.t);
    const peer = device(f.token);
    await Promise.all([d1.connect(), d2.connect(), peer.connect()]);
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await sendFriend(f, a.user.id, `u${i}`)).data.seq;
    const listed = async () => (await post(t.api, '/im/conversation/list', {}, { token: a.token })).data.list.find((c: { ope: number; peer: { id: number } }) => c.ope === 0 && c.peer.id === f.user.id);
    const conv = await listed();
    expect(conv).toMatchObject({ unread: 5, read_seq: 0, last_seq: last, last_message: { body: 'u4' } });
    d1.socket!.send({ Cmd: 20, ConvId: conv.conversation_id, Seq: 3 });
    const notice = await d2.socket!.next((fr) => fr.Cmd === 21);
    expect(notice).toMatchObject({ FromId: a.user.id, ToId: f.user.id, Seq: 3 });
    expect(await peer.socket!.next((fr) => fr.Cmd === 21)).toMatchObject({ FromId: a.user.id, Seq: 3 });
    await settle(50);
    expect(d1.socket!.of(21)).toEqual([]);
    expect(await listed()).toMatchObject({ unread: 2, read_seq: 3 });
    const read = await post(t.api, '/im/chat/read', { to_uid: f.user.id, seq: 99 }, { token: d2.token });
    expect(read.data).toEqual({ conversation_id: conv.conversation_id, read_seq: last });
    expect(await listed()).toMatchObject({ unread: 0, read_seq: last });
    await post(t.api, '/im/chat/read', { to_uid: f.user.id, seq: 1 }, { token: a.token });
    expect((await listed()).read_seq).toBe(last);
  });

  it('HTTP sync returns the missed frames and a token that continues from there', async () => {
    const { a, f } = await scene();
    for (let i = 0; i < 3; i++) await sendFriend(f, a.user.id, `x${i}`);
    const first = await post(t.api, '/im/sync', { limit: 2 }, { token: a.token, form: true });
    expect(first.data.more).toBe(true);
    const all = [...first.data.list];
    let token = first.data.token;
    for (let i = 0; i < 10; i++) {
      const next = await post(t.api, '/im/sync', { token, limit: 2 }, { token: a.token });
      all.push(...next.data.list);
      token = next.data.token;
      if (!next.data.more) break;
    }
    expect(all.filter((fr: { Cmd: number }) => fr.Cmd === 6).map((fr: { Body: string }) => fr.Body)).toEqual(['x0', 'x1', 'x2']);
    const again = await post(t.api, '/im/sync', { token }, { token: a.token });
    expect(again.data.list).toEqual([]);
    const bad = await post(t.api, '/im/sync', { token: 'garbage!' }, { token: a.token });
    expect([bad.status, bad.code]).toEqual([400, 1000]);
  });

  it('presence: friends are told of the first device online and the last offline, coalesced', async () => {
    const { a, b } = await makeFriends(t.api);
    const watcher = device(b.token);
    await watcher.connect();
    const online = await post(t.api, '/im/friend/online', {}, { token: b.token });
    expect(online.data.list).toEqual([{ id: a.user.id, online: false }]);
    const d = device(a.token);
    await d.connect();
    expect(await watcher.socket!.next((fr) => fr.Cmd === 19)).toMatchObject({ FromId: a.user.id, Body: 'online' });
    expect((await post(t.api, '/im/friend/online', { user_ids: String(a.user.id) }, { token: b.token })).data.list).toEqual([{ id: a.user.id, online: true }]);
    for (let i = 0; i < 10; i++) {
      d.disconnect();
      await d.connect();
    }
    d.disconnect();
    await settle(400);
    const notices = watcher.socket!.of(19).map((fr) => fr.Body);
    expect(notices[0]).toBe('online');
    expect(notices.length).toBeLessThanOrEqual(3);
    expect(notices.at(-1)).toBe('offline');
  });
});

/** The gateway's sync is not dialect-specific: what a slow reader does to it runs on SQLite. */
describe('a sync to a reader slower than the sync', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', { WEIM_MESSAGES_SEND_MAX_PER_10S: '100000', WEIM_MESSAGES_SYNC_PAGE_SIZE: '10' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('waits for the socket to drain between pages (its drain event), then sends every message once, in order', async () => {
    const { a, b } = await makeFriends(t.api);
    const body = (i: number) => `${i}:`.padEnd(5000, '消');
    for (let i = 0; i < 500; i++) expect((await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: body(i) }, { token: a.token })).code).toBe(0);
    // ~7.5 MB of frames (one sync run's 500), past what the kernel's buffers hold: the sync must wait for the reader.
    const socket = await openSocketPaused(t.url);
    socket.send({ Cmd: 3, Body: b.token, Sync: { Cursors: {}, EventSeq: 0 } });
    await settle(500);
    // Still open: a sync waits for its reader, it does not cut it off as a slow consumer.
    expect(t.node.gateway.socketCount).toBe(1);
    socket.resume();
    await socket.socket.next((f) => f.Cmd === 23, 20_000);
    const got = socket.socket.of(6);
    expect(got.every((f, i) => f.Body === body(i))).toBe(true);
    expect(got.map((f) => f.Seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    socket.socket.close();
  });
});

/** A signed-out socket whose reading is paused until `resume()`. */
async function openSocketPaused(url: string) {
  const socket = await openSocket(url);
  const raw = (socket.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
  raw.pause();
  return { socket, send: (frame: unknown) => socket.send(frame), resume: () => raw.resume() };
}
