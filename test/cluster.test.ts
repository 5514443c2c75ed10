import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { signPush } from '../src/modules/push/index.js';
import { login, makeFriends, post, registerUser } from './helpers/http.js';
import { clusterEnv as clusterSettings, clusterRigAvailable, startClusterNodes } from './helpers/cluster.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { SyncDevice } from './helpers/sync-client.js';
import { openSocket, settle, signedInSocket, type TestSocket } from './helpers/ws.js';
import { waitUntil } from './helpers/wait.js';

const PUSH_SECRET = randomBytes(24).toString('hex');
const available = clusterRigAvailable();
if (!available) console.warn('!!! cluster suite needs MariaDB, Redis and etcd: SKIPPED (CI would fail instead)');

/** Nodes on one MariaDB database, one Redis and one etcd (the test rig's), under a key prefix of their own. */
describe.runIf(available)('cluster: Redis directory and bus, etcd discovery', () => {
  const prefix = `weim-t-${randomBytes(4).toString('hex')}`;
  const settings = { WEIM_PRESENCE_COALESCE_MS: '100', WEIM_PUSH_APPS: `shop:${PUSH_SECRET}` };
  const clusterEnv = (nodeId: string) => clusterSettings(prefix, nodeId, settings);
  let started: Awaited<ReturnType<typeof startClusterNodes>> | undefined;
  let shared: DbHandle;
  let dbUrl: string;
  let n1: TestNode;
  let n2: TestNode;
  let redis: Redis;
  const sockets: TestSocket[] = [];
  const on = async (node: { url: string }, token: string) => {
    const s = await signedInSocket(node.url, token);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    started = await startClusterNodes(prefix, ['n1', 'n2'], settings);
    ({ shared, dbUrl } = started);
    [n1, n2] = started.nodes as [TestNode, TestNode];
    redis = new Redis(inject('redisUrl')!);
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await started?.stop();
    await redis?.quit();
  });

  it('each node sees the other live, and is ready', async () => {
    expect(n1.node.cluster.discovery.liveNodes().sort()).toEqual(expect.arrayContaining(['n1', 'n2']));
    expect(n2.node.cluster.discovery.isLive('n1')).toBe(true);
    expect((await fetch(`${n2.url}/readyz`)).status).toBe(200);
  });

  it('a message reaches the recipient on another node, and the sender\'s other device there, and no one else', async () => {
    const { a, b } = await makeFriends(n1.api);
    const stranger = await registerUser(n1.api);
    const a1 = await on(n1, a.token);
    const a2 = await on(n2, await login(n2.api, a.username));
    const b2 = await on(n2, b.token);
    const s1 = await on(n1, stranger.token);
    const s2 = await on(n2, stranger.token);
    a1.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'across nodes', ClientMsgId: 'x-1' });
    const ack = await a1.next((f) => f.Cmd === 18);
    expect(await b2.next((f) => f.Cmd === 6)).toMatchObject({ Id: ack.Id, Seq: 1, FromId: a.user.id, Body: 'across nodes' });
    expect(await a2.next((f) => f.Cmd === 6)).toMatchObject({ Id: ack.Id });
    const back = await post(n2.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'and back' }, { token: b.token });
    expect(back.code).toBe(0);
    expect(await a1.next((f) => f.Cmd === 6 && f.Body === 'and back')).toMatchObject({ Id: back.data.id, Seq: 2 });
    expect(await a2.next((f) => f.Cmd === 6 && f.Body === 'and back')).toMatchObject({ Id: back.data.id });
    await settle();
    // The sending socket (on n1) gets the ack only, though a connection on n2 might share its local number.
    expect(a1.of(6).map((f) => f.Body)).toEqual(['and back']);
    // b sent 'and back' over HTTP with the token of b2's session: that device is the sender's.
    expect(b2.of(6).map((f) => f.Body)).toEqual(['across nodes']);
    expect([...s1.frames, ...s2.frames].filter((f) => [6, 10].includes(f.Cmd))).toEqual([]);
  });

  it('a typing notice crosses nodes to the peer\'s sockets that declared typing only (the feature travels with the batch)', async () => {
    const { a, b } = await makeFriends(n1.api);
    const featured = async (node: TestNode, token: string) => {
      const socket = await openSocket(node.url);
      sockets.push(socket);
      socket.send({ Cmd: 3, Body: token, Features: ['typing'] });
      await socket.next((f) => f.Cmd === 4);
      return socket;
    };
    const a1 = await featured(n1, a.token);
    const bModern = await featured(n2, b.token);
    const bLegacy = await on(n2, await login(n2.api, b.username));
    a1.send({ Cmd: 27, ToId: b.user.id, Ope: 0 });
    expect(await bModern.next((f) => f.Cmd === 28)).toEqual({ Cmd: 28, FromId: a.user.id, ToId: b.user.id, Ope: 0, Type: 0, Body: '' });
    await settle();
    expect(bLegacy.of(28)).toEqual([]);
  });

  /** A group of an owner and `count` members who joined (through n1), the owner first. */
  async function groupOf(count: number) {
    const owner = await registerUser(n1.api);
    const group = (await post(n1.api, '/im/group/create', { name: 'spread' }, { token: owner.token })).data.group;
    const members = [owner];
    for (let i = 0; i < count; i++) {
      const u = await registerUser(n1.api);
      const join = await post(n1.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
      await post(n1.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
      members.push(u);
    }
    return { group, members };
  }

  it('a group message reaches every member device once, whichever node holds it; the directory holds each user under its nodes', async () => {
    const { group, members } = await groupOf(4);
    const devices = await Promise.all(members.map((m, i) => on(i % 2 ? n2 : n1, m.token)));
    const both = await on(n2, await login(n2.api, members[2]!.username));
    const located = await n1.node.cluster.directory.locate(members.map((m) => m.user.id));
    expect(Object.fromEntries([...located].map(([node, ids]) => [node, ids.sort((x, y) => x - y)]))).toEqual({
      n1: [members[0]!.user.id, members[2]!.user.id, members[4]!.user.id].sort((x, y) => x - y),
      n2: [members[1]!.user.id, members[2]!.user.id, members[3]!.user.id].sort((x, y) => x - y),
    });
    const sent = await post(n2.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'to all' }, { token: members[3]!.token });
    expect(sent.code).toBe(0);
    for (const [i, d] of devices.entries()) if (i !== 3) expect(await d.next((f) => f.Cmd === 10)).toMatchObject({ Id: sent.data.id, Body: 'to all' });
    expect(await both.next((f) => f.Cmd === 10)).toMatchObject({ Id: sent.data.id });
    await settle();
    // Device 3 holds the sender's token (it sent over HTTP with it): the sending session gets nothing.
    expect([...devices, both].map((d) => d.of(10).length)).toEqual([1, 1, 1, 0, 1, 1]);
  });

  it('a group message for many users (past the relay\'s 31, and 8 a live node or more) reaches every member on every node, though the directory lost some of their entries', async () => {
    const { group, members } = await groupOf(32);
    const owner = members[0]!;
    const devices = await Promise.all(members.map((m, i) => on(i % 2 ? n2 : n1, m.token)));
    // The entries of n2's members but one are lost (as a write Redis never got); the set stays,
    // so n2 does not notice and write them again.
    const lost = members.filter((_, i) => i % 2 === 1 && i > 1).map((m) => String(m.user.id));
    expect(await redis.srem(`${prefix}:n:n2`, ...lost)).toBe(lost.length);
    try {
      const sent = await post(n1.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'to the crowd' }, { token: owner.token });
      expect(sent.code).toBe(0);
      for (const d of devices.slice(1)) expect(await d.next((f) => f.Cmd === 10)).toMatchObject({ Id: sent.data.id, Body: 'to the crowd' });
      await settle();
      expect(devices.map((d) => d.of(10).length)).toEqual([0, ...Array(32).fill(1)]);
    } finally {
      await redis.sadd(`${prefix}:n:n2`, ...lost);
    }
  });

  it('presence is the cluster\'s: a user whose socket on one node closes is still online through the other', async () => {
    const { a, b } = await makeFriends(n1.api);
    const watcher = await on(n1, a.token);
    const b1 = await on(n1, b.token);
    const b2 = await on(n2, await login(n2.api, b.username));
    expect(await watcher.next((f) => f.Cmd === 19 && f.FromId === b.user.id)).toMatchObject({ Body: 'online' });
    b1.close();
    await settle(400);
    // Online on n2 still: no offline notice, and one online notice though both nodes saw b come.
    expect(watcher.of(19).filter((f) => f.FromId === b.user.id).map((f) => f.Body)).toEqual(['online']);
    b2.close();
    expect(await watcher.next((f) => f.Cmd === 19 && f.FromId === b.user.id && f.Body === 'offline')).toBeDefined();
    await settle(400);
    expect(watcher.of(19).filter((f) => f.FromId === b.user.id).map((f) => f.Body)).toEqual(['online', 'offline']);
  });

  it('a user on two nodes at once is announced online once, and offline once when both devices go', async () => {
    const { a, b } = await makeFriends(n1.api);
    const watcher = await on(n1, a.token);
    const second = await login(n2.api, b.username);
    const [b1, b2] = await Promise.all([on(n1, b.token), on(n2, second)]);
    await watcher.next((f) => f.Cmd === 19 && f.FromId === b.user.id);
    await settle(400);
    b1.close();
    b2.close();
    await watcher.next((f) => f.Cmd === 19 && f.FromId === b.user.id && f.Body === 'offline');
    await settle(400);
    expect(watcher.of(19).filter((f) => f.FromId === b.user.id).map((f) => f.Body)).toEqual(['online', 'offline']);
  });

  it('/logout/all on one node closes every socket of that user on every node (4003), and refuses its tokens there', async () => {
    const u = await registerUser(n1.api);
    const other = await login(n2.api, u.username);
    const [s1, s2] = await Promise.all([on(n1, u.token), on(n2, other)]);
    const bystander = await on(n2, (await registerUser(n2.api)).token);
    expect((await post(n1.api, '/logout/all', {}, { token: u.token })).code).toBe(0);
    for (const s of [s1, s2]) expect((await s.closed).code).toBe(4003);
    await until(async () => (await post(n2.api, '/user/info', {}, { token: other })).status === 401, 5000);
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
  });

  it('logging out on one node closes that session\'s sockets on every node (4003), and only those', async () => {
    const a = await registerUser(n1.api);
    const other = await login(n1.api, a.username);
    const s1 = await on(n1, a.token);
    const s2 = await on(n2, a.token);
    const keep = await on(n2, other);
    expect((await post(n1.api, '/logout', {}, { token: a.token })).code).toBe(0);
    expect((await s1.closed).code).toBe(4003);
    expect((await s2.closed).code).toBe(4003);
    await settle();
    expect(keep.ws.readyState).toBe(keep.ws.OPEN);
  });

  it('a push lost while a node\'s bus subscription was down: that node asks its sockets to sync (Cmd 24), and the sync brings it, once', async () => {
    const { a, b } = await makeFriends(n1.api);
    const device = new SyncDevice(n2.url, b.token);
    await device.connect();
    const socket = device.socket!;
    const other = await on(n2, (await registerUser(n2.api)).token);
    const onN1 = await on(n1, (await registerUser(n1.api)).token);
    let lost: { id: number; seq: number; conv: string } | undefined;
    // Redis drops n2's subscriber; ioredis reconnects within about 50 ms, and the send is published
    // before that. PUBSUB NUMSUB still 0 after the send proves it was published to no one (else retry).
    for (let attempt = 1; !lost; attempt++) {
      const asked = socket.of(24).length;
      await redis.client('KILL', 'ID', await clientId(redis, `${prefix}-n2-bus`));
      const sent = await post(n1.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: `in the gap ${attempt}` }, { token: a.token });
      const [, subscribers] = (await redis.call('PUBSUB', 'NUMSUB', `${prefix}:bus:n2`)) as [string, number];
      await socket.next(() => socket.of(24).length > asked, 5000);
      if (subscribers === 0) lost = { id: sent.data.id, seq: sent.data.seq, conv: `c${sent.data.conversation_id}` };
      else if (attempt === 5) throw new Error('the send never fell into the subscription gap');
    }
    expect(socket.of(24).at(-1)).toEqual({ Cmd: 24, FromId: 0, ToId: 0, Ope: 2, Type: 0, Body: '' });
    expect(await other.next((f) => f.Cmd === 24)).toMatchObject({ Body: '' });
    expect(device.cursor(lost.conv)).toBeLessThan(lost.seq);
    await device.resync();
    await device.waitFor(lost.conv, lost.seq);
    expect(device.received.filter((r) => r.frame.Id === lost.id).map((r) => r.frame.Body)).toEqual([expect.stringMatching(/^in the gap/)]);
    expect(device.faults).toEqual([]);
    // n1's sockets were not asked: its subscription never dropped.
    expect(onN1.of(24)).toEqual([]);
    device.disconnect();
  });

  it('a logout on one node while another\'s bus subscription is down still closes that session\'s socket there (4003), once it is back', async () => {
    const u = await registerUser(n1.api);
    const other = await login(n1.api, u.username);
    const s2 = await on(n2, u.token);
    const keep = await on(n2, other);
    // As above: retried until the logout's message is published while n2 has no subscription.
    for (let attempt = 1; ; attempt++) {
      await redis.client('KILL', 'ID', await clientId(redis, `${prefix}-n2-bus`));
      const token = attempt === 1 ? u.token : await login(n1.api, u.username);
      const s = attempt === 1 ? s2 : await on(n2, token);
      expect((await post(n1.api, '/logout', {}, { token })).code).toBe(0);
      // n2's own channel shares its subscriber connection: none yet means n2 missed the logout.
      const [, subscribers] = (await redis.call('PUBSUB', 'NUMSUB', `${prefix}:bus:n2`)) as [string, number];
      expect(await s.closed).toMatchObject({ code: 4003 });
      if (subscribers === 0) break;
      if (attempt === 5) throw new Error('the logout never fell into the subscription gap');
      await settle(300);
    }
    await settle(300);
    expect(keep.ws.readyState).toBe(keep.ws.OPEN);
  });

  it('push API: a broadcast reaches sockets on every node; a push to users reaches them on theirs; a nonce used on one node is refused on the other', async () => {
    const [u1, u2] = await Promise.all([registerUser(n1.api), registerUser(n1.api)]);
    const s1 = await on(n1, u1.token);
    const s2 = await on(n2, u2.token);
    const signed = (node: TestNode, path: string, body: unknown, nonce = randomBytes(12).toString('hex')) => {
      const text = JSON.stringify(body);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const signature = signPush(PUSH_SECRET, { timestamp, nonce, method: 'POST', path: `/api/v1${path}`, body: text });
      return fetch(`${node.api}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Weim-App': 'shop', 'X-Weim-Timestamp': timestamp, 'X-Weim-Nonce': nonce, 'X-Weim-Signature': signature },
        body: text,
      }).then(async (r) => ({ status: r.status, ...((await r.json()) as { code: number; data: unknown }) }));
    };
    expect((await signed(n1, '/push/broadcast', { body: 'to everyone' })).code).toBe(0);
    for (const s of [s1, s2]) expect(await s.next((f) => f.Cmd === 25 && f.Body === 'to everyone')).toMatchObject({ ToId: 0 });
    const nonce = randomBytes(12).toString('hex');
    expect(await signed(n1, '/push/users', { user_ids: [u2.user.id], body: 'for u2' }, nonce)).toMatchObject({ code: 0, data: { pushed: [u2.user.id], unknown: [] } });
    expect(await s2.next((f) => f.Cmd === 25 && f.Body === 'for u2')).toMatchObject({ ToId: u2.user.id, EventSeq: 1 });
    expect((await signed(n2, '/push/users', { user_ids: [u2.user.id], body: 'for u2' }, nonce)).status).toBe(401);
    expect(await signed(n2, '/push/online', { user_ids: [u1.user.id, u2.user.id] })).toMatchObject({ code: 0, data: { online: [u1.user.id, u2.user.id] } });
    await settle(200);
    expect(s2.of(25).map((f) => f.Body)).toEqual(['to everyone', 'for u2']);
    expect(s1.of(25).map((f) => f.Body)).toEqual(['to everyone']);
  });

  it('a friendship ended on one node ends at once on the other: no message between the two goes through there', async () => {
    const { a, b } = await makeFriends(n1.api);
    // n2 has the friendship cached (for 5 s) from a message sent through it.
    expect((await post(n2.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'still friends' }, { token: a.token })).code).toBe(0);
    expect((await post(n1.api, '/im/friend/del', { f_uid: b.user.id }, { token: a.token })).code).toBe(0);
    // Told through the bus: well within the cache's 5 s.
    await until(async () => !(await n2.node.services.friends.areFriends(a.user.id, b.user.id)), 1000);
    const refused = await post(n2.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'no longer friends' }, { token: b.token });
    expect([refused.status, refused.code]).toEqual([403, 1003]);
  });

  it('rate limits hold across nodes: the failed logins of one user count together on n1 and n2', async () => {
    const u = await registerUser(n1.api);
    const attempt = (node: TestNode) => post(node.api, '/login', { username: u.username, password: 'wrong-password' });
    for (let i = 0; i < 10; i++) expect((await attempt(i % 2 === 0 ? n1 : n2)).status).toBe(401);
    for (const node of [n1, n2]) expect((await attempt(node)).status).toBe(429);
  });

  it('a node that stops: its users are told offline to their friends once, by a live node, unless they reconnected elsewhere', async () => {
    const n4 = await startTestNode('mysql', { ...clusterEnv('n4'), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: dbUrl }, { database: shared });
    let stopped = false;
    try {
      await until(() => n1.node.cluster.discovery.isLive('n4'));
      const { a, b: gone } = await makeFriends(n1.api);
      const { b: moved } = await makeFriends(n1.api, a);
      const watcher = await on(n1, a.token);
      const goneSocket = await on(n4, gone.token);
      const movedSocket = await on(n4, moved.token);
      for (const u of [gone, moved]) await watcher.next((f) => f.Cmd === 19 && f.FromId === u.user.id && f.Body === 'online');
      // `moved` reconnects to n2 as soon as n4 closes it; `gone` does not come back.
      movedSocket.ws.once('close', () => void on(n2, moved.token));
      await n4.stop();
      stopped = true;
      // A stop drains: the socket is closed with 1012 (restarting, reconnect), after Cmd 26.
      expect((await goneSocket.closed).code).toBe(1012);
      expect(goneSocket.of(26)).toHaveLength(1);
      await watcher.next((f) => f.Cmd === 19 && f.FromId === gone.user.id && f.Body === 'offline', 8000);
      await settle(1500);
      expect(watcher.of(19).filter((f) => f.FromId === gone.user.id).map((f) => f.Body)).toEqual(['online', 'offline']);
      expect(watcher.of(19).filter((f) => f.FromId === moved.user.id).map((f) => f.Body)).toEqual(['online']);
      expect(Object.fromEntries(await n1.node.cluster.directory.locate([gone.user.id, moved.user.id]))).toEqual({ n2: [moved.user.id] });
    } finally {
      if (!stopped) await n4.stop();
    }
  });

  describe('a node that dies', () => {
    let n3: ChildNode;
    afterAll(async () => {
      await n3?.kill();
    });

    it('is dropped within its lease and cleared from the directory; its users get what they missed by sync on another node', async () => {
      n3 = await startChildNode({ ...clusterEnv('n3'), WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: dbUrl, WEIM_LOG_LEVEL: 'silent' });
      const { a, b: c } = await makeFriends(n1.api);
      await until(() => n1.node.cluster.discovery.isLive('n3'));
      const friendOfC = await on(n1, a.token);
      const device = new SyncDevice(n3.url, c.token);
      await device.connect();
      expect(await friendOfC.next((f) => f.Cmd === 19 && f.FromId === c.user.id)).toMatchObject({ Body: 'online' });
      const first = await post(n1.api, '/im/chat/send/user', { to_uid: c.user.id, type: 0, body: 'while n3 lives' }, { token: a.token });
      const conv = `c${first.data.conversation_id}`;
      await device.waitFor(conv, 1);
      expect(await n1.node.cluster.directory.locate([c.user.id])).toEqual(new Map([['n3', [c.user.id]]]));

      await n3.kill();
      await until(() => !n1.node.cluster.discovery.isLive('n3'), 10_000);
      expect(await n1.node.cluster.directory.locate([c.user.id])).toEqual(new Map());
      await until(async () => (await redis.exists(`${prefix}:n:n3`)) === 0 && (await redis.sismember(`${prefix}:u:${c.user.id}`, 'n3')) === 0, 5000);
      // The node that cleared n3 tells c's friends that c went offline with it, once.
      expect(await friendOfC.next((f) => f.Cmd === 19 && f.FromId === c.user.id && f.Body === 'offline')).toBeDefined();
      await settle(300);
      expect(friendOfC.of(19).filter((f) => f.FromId === c.user.id).map((f) => f.Body)).toEqual(['online', 'offline']);

      // Sent while c is offline: stored, pushed nowhere, and synced when c comes back on n1.
      const missed = await post(n1.api, '/im/chat/send/user', { to_uid: c.user.id, type: 0, body: 'while n3 is dead' }, { token: a.token });
      expect(missed.data.seq).toBe(2);
      device.url = n1.url;
      await device.connect();
      await device.waitFor(conv, 2);
      expect(device.seqsByStream().get(conv)).toEqual([1, 2]);
      expect(device.received.at(-1)!.frame).toMatchObject({ Cmd: 6, Id: missed.data.id, Body: 'while n3 is dead' });
      expect(device.faults).toEqual([]);
      device.disconnect();
    });
  });
});

/** This file's waits: longer or slower than the shared default. */
const until = (check: () => boolean | Promise<boolean>, timeoutMs?: number) => waitUntil(check, timeoutMs ?? 5000, 50);

/** The id of the Redis connection named `name` (ioredis names it again after every reconnect). */
async function clientId(redis: Redis, name: string): Promise<string> {
  const line = ((await redis.client('LIST')) as string).split('\n').find((l) => l.includes(` name=${name} `));
  const id = line?.match(/^id=(\d+)/)?.[1];
  if (!id) throw new Error(`no Redis connection named ${name}`);
  return id;
}
