import { connect } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { openSocket, settle, signedInSocket, type TestSocket, wsUrl } from './helpers/ws.js';

describe.each(testDialects())('gateway on %s', (dialect) => {
  let t: TestNode;
  const sockets: TestSocket[] = [];
  const track = (s: TestSocket) => (sockets.push(s), s);
  beforeAll(async () => {
    t = await startTestNode(dialect, {
      WEIM_GATEWAY_SIGN_IN_TIMEOUT_MS: '400',
      WEIM_GATEWAY_PING_INTERVAL_MS: '250',
      WEIM_GATEWAY_MAX_FRAME_BYTES: '4096',
      WEIM_GATEWAY_MAX_BAD_FRAMES: '8',
      WEIM_GATEWAY_MAX_BUFFERED_BYTES: '65536',
      WEIM_GATEWAY_ALLOWED_ORIGINS: 'https://app.example',
      WEIM_MESSAGES_SEND_MAX_PER_10S: '100000',
    });
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await t?.stop();
  });

  it('signs in with Cmd 3 and answers Cmd 4 with the user id', async () => {
    const { token, user } = await registerUser(t.api);
    const s = track(await openSocket(t.url));
    s.send({ Cmd: 3, FromId: 0, ToId: 0, Ope: 0, Type: 0, Body: token });
    const signed = await s.next((f) => f.Cmd === 4);
    expect(signed.Body).toBe(String(user.id));
    expect(t.node.hub.connectionsOf(user.id).size).toBe(1);
  });

  it('a second Cmd 3 sent right behind the first is refused: the socket is one user in the hub, and none once closed', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const s = track(await openSocket(t.url));
    // Back to back: both frames are read together, the second before the first's token is checked.
    s.ws.send(JSON.stringify({ Cmd: 3, Body: a.token }));
    s.ws.send(JSON.stringify({ Cmd: 3, Body: b.token }));
    expect((await s.next((f) => f.Cmd === 4)).Body).toBe(String(a.user.id));
    expect((await s.next((f) => f.Cmd === 2)).Reason).toBe('already_signed_in');
    await settle();
    expect(s.of(4)).toHaveLength(1);
    expect([t.node.hub.connectionsOf(a.user.id).size, t.node.hub.connectionsOf(b.user.id).size]).toEqual([1, 0]);
    s.close();
    await s.closed;
    await settle(50);
    expect([t.node.hub.connectionsOf(a.user.id).size, t.node.hub.connectionsOf(b.user.id).size]).toEqual([0, 0]);
  });

  it('a bad token gets Cmd 2 and the socket closes (4002)', async () => {
    const s = track(await openSocket(t.url));
    s.send({ Cmd: 3, Body: 'not-a-token' });
    expect((await s.next((f) => f.Cmd === 2)).Reason).toBe('token_invalid');
    expect((await s.closed).code).toBe(4002);
  });

  it('closes a socket that has not signed in in time (4001); other frames before sign-in get Cmd 2', async () => {
    const s = track(await openSocket(t.url));
    s.send({ Cmd: 15 });
    expect((await s.next((f) => f.Cmd === 2)).Reason).toBe('sign_in_first');
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
    expect((await s.closed).code).toBe(4001);
  });

  it('malformed, unknown, binary and oversized frames get Cmd 2 and leave the socket open', async () => {
    const { token } = await registerUser(t.api);
    const s = track(await signedInSocket(t.url, token));
    s.send('{not json');
    s.send({ Cmd: 99 });
    s.send({ Cmd: 17, ToId: 'x' });
    s.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    s.send({ Cmd: 15, Pad: 'x'.repeat(5000) });
    await s.next(() => s.of(2).length >= 5);
    expect(s.of(2).map((f) => f.Body)).toEqual([
      'malformed frame: not JSON',
      'unknown command 99',
      expect.stringMatching(/^invalid frame: ToId/),
      'text frames only',
      'frame too large (max 4096 bytes)',
    ]);
    s.send({ Cmd: 15 });
    await s.next((f) => f.Cmd === 16);
    expect(s.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a socket that keeps sending garbage is closed (4009)', async () => {
    const { token } = await registerUser(t.api);
    const s = track(await signedInSocket(t.url, token));
    for (let i = 0; i < 8; i++) s.send('garbage');
    expect((await s.closed).code).toBe(4009);
  });

  it('answers the app-level ping (Cmd 15 → Cmd 16)', async () => {
    const { token } = await registerUser(t.api);
    const s = track(await signedInSocket(t.url, token));
    s.send({ Cmd: 15 });
    expect((await s.next((f) => f.Cmd === 16)).Cmd).toBe(16);
  });

  it('closes a socket that stops answering server pings', async () => {
    const { token, user } = await registerUser(t.api);
    const ws = new WebSocket(wsUrl(t.url), { autoPong: false });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ Cmd: 3, Body: token }));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    // The client never answers a ping: closed by the server (no close frame: 1006).
    expect(await closed).toBe(1006);
    await settle(50);
    expect(t.node.hub.connectionsOf(user.id).size).toBe(0);
  });

  it('refuses browser origins not in the allow-list; allows listed ones and non-browsers', async () => {
    const refused = new WebSocket(wsUrl(t.url), { headers: { Origin: 'https://evil.example' } });
    const status = await new Promise<number>((resolve) => refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(403);
    track(await openSocket(t.url, { headers: { Origin: 'https://app.example' } }));
    const wrongPath = new WebSocket(`${wsUrl(t.url)}/../other`);
    const wrongStatus = await new Promise<number>((resolve) => wrongPath.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)));
    expect(wrongStatus).toBe(404);
  });

  it('logout closes the sockets of that token only (4003)', async () => {
    const { a } = await makeFriends(t.api);
    const second = (await post(t.api, '/login', { username: a.username, password: a.password })).data.t;
    const s1 = track(await signedInSocket(t.url, a.token));
    const s2 = track(await signedInSocket(t.url, second));
    expect((await post(t.api, '/logout', {}, { token: a.token })).code).toBe(0);
    expect((await s1.closed).code).toBe(4003);
    await settle();
    expect(s2.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('a frame built once for many sockets arrives whole, as text, among the frames ws itself sends', async () => {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'wire' }, { token: owner.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: member.token });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    const phone = track(await signedInSocket(t.url, member.token));
    const laptop = track(await signedInSocket(t.url, member.token));
    // Payloads under 126 bytes, and from 126 to 65,535 (a 16-bit length), with 3- and 4-byte characters.
    const bodies = ['短', '消息'.repeat(30), '长消息😀'.repeat(800)];
    const ids: number[] = [];
    for (const [i, body] of bodies.entries()) {
      const sent = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body }, { token: owner.token });
      expect(sent.code).toBe(0);
      ids.push(sent.data.id);
      await phone.next(() => phone.of(10).length === i + 1);
      phone.send({ Cmd: 15 });
      await phone.next(() => phone.of(16).length === i + 1);
    }
    await laptop.next(() => laptop.of(10).length === bodies.length);
    for (const s of [phone, laptop]) {
      expect(s.of(10).map((f) => [f.Id, f.Body])).toEqual(ids.map((id, i) => [id, bodies[i]]));
      expect(s.binaryFrames).toBe(0);
    }
    expect(phone.frames.map((f) => f.Cmd)).toEqual([4, 10, 16, 10, 16, 10, 16]);
  });

  it('a stalled reader is cut off (dropped: 1006) and does not delay a healthy one', async () => {
    const owner = await registerUser(t.api);
    const slow = await registerUser(t.api);
    const healthy = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'flood' }, { token: owner.token })).data.group;
    for (const u of [slow, healthy]) {
      const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
      await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    }
    const slowSocket = track(await signedInSocket(t.url, slow.token));
    const healthySocket = track(await signedInSocket(t.url, healthy.token));
    // The slow client stops reading: its kernel buffers fill, then the server's queue.
    (slowSocket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const body = 'x'.repeat(3000);
    const count = 300;
    const sent: number[] = [];
    for (let i = 0; i < count; i++) {
      const r = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body }, { token: owner.token });
      sent.push(r.data.id);
    }
    await healthySocket.next(() => healthySocket.of(10).length >= count, 10_000);
    expect(healthySocket.of(10).map((f) => f.Id)).toEqual(sent);
    await settle(100);
    expect(t.node.hub.connectionsOf(slow.user.id).size).toBe(0);
    // Dropped without a close frame (one would wait behind the unread bytes): 1006 once it reads on.
    (slowSocket.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    expect((await slowSocket.closed).code).toBe(1006);
  });
});

describe('gateway shutdown', () => {
  it('stop() completes even when a client never answers the closing handshake', async () => {
    const t = await startTestNode('sqlite');
    const { port } = new URL(t.url);
    const raw = connect(Number(port), '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    raw.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    await new Promise((r) => raw.once('data', r));
    raw.pause(); // never reads, never answers the close frame
    // Resolves (the test's own timeout is the bound): the grace period ends the wait for the
    // handshake, and the socket the client never closed is closed by the server.
    const ended = new Promise((r) => raw.once('close', r));
    await t.stop();
    raw.resume();
    await ended;
    expect(t.node.gateway.socketCount).toBe(0);
  });
});
