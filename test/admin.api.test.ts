import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startClusterNodes } from './helpers/cluster.js';
import { testDialects } from './helpers/database.js';
import { login, makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { featuredSocket, signedInSocket, type TestSocket } from './helpers/ws.js';

const TOKEN = 'admin-token-of-at-least-32-characters';
const asAdmin = (api: string, path: string, body: Record<string, unknown> = {}, token = TOKEN) => post(api, path, body, { headers: { Authorization: `Bearer ${token}` } });
const ADMIN_ROUTES = ['/admin/users/ban', '/admin/users/unban', '/admin/users/lookup', '/admin/groups/dissolve', '/admin/messages/delete', '/admin/stats'];

describe.each(testDialects())('admin API on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_ADMIN_TOKEN: TOKEN, WEIM_MESSAGES_WITHDRAW_WINDOW_SECONDS: '60' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.stop();
  });
  const audit = async () => (await t.dbh.db.selectFrom('admin_audit').select(['action', 'target_id', 'detail']).orderBy('id').execute()).map((r) => [r.action, Number(r.target_id), JSON.parse(r.detail)]);

  it('every route refuses a user token, a wrong bearer token and none (401), and changes nothing', async () => {
    const u = await registerUser(t.api);
    for (const path of ADMIN_ROUTES) {
      const body = { user_id: u.user.id, reason: 'x', group_id: 1, message_id: 1 };
      expect((await post(t.api, path, body, { token: u.token })).status, path).toBe(401);
      expect((await post(t.api, path, body, { headers: { Authorization: `Bearer ${u.token}` } })).status, path).toBe(401);
      expect((await asAdmin(t.api, path, body, `${TOKEN}x`)).status, path).toBe(401);
      expect((await post(t.api, path, body)).status, path).toBe(401);
    }
    expect((await post(t.api, '/login', { username: u.username, password: u.password })).code).toBe(0);
    expect(await audit()).toEqual([]);
  });

  it('ban: the socket closes (4003), the token is refused, login says why (403 / 1009); lookup shows it; unban lets them in; each is audited', async () => {
    const u = await registerUser(t.api);
    const s = await signedInSocket(t.url, u.token);
    open.push(s);
    expect((await asAdmin(t.api, '/admin/users/ban', { user_id: u.user.id, reason: 'spam links' })).code).toBe(0);
    expect((await s.closed).code).toBe(4003);
    expect((await post(t.api, '/user/info', {}, { token: u.token })).status).toBe(401);
    const refused = await post(t.api, '/login', { username: u.username, password: u.password });
    expect([refused.status, refused.code, refused.msg]).toEqual([403, 1009, 'this account is banned: spam links']);
    // A wrong password says nothing about the ban.
    expect((await post(t.api, '/login', { username: u.username, password: 'wrong-password' })).code).toBe(1001);
    expect((await asAdmin(t.api, '/admin/users/lookup', { username: u.username })).data.user).toMatchObject({ id: u.user.id, banned: true, ban_reason: 'spam links', online: false });
    expect((await asAdmin(t.api, '/admin/users/unban', { user_id: u.user.id })).code).toBe(0);
    expect((await post(t.api, '/login', { username: u.username, password: u.password })).code).toBe(0);
    expect((await asAdmin(t.api, '/admin/users/ban', { user_id: 999_999_999, reason: 'x' })).status).toBe(404);
    for (const body of [{ user_id: u.user.id }, { user_id: u.user.id, reason: '' }, { user_id: 'x', reason: 'y' }, { user_id: u.user.id, reason: 'r'.repeat(201) }]) {
      expect((await asAdmin(t.api, '/admin/users/ban', body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await audit()).slice(-2)).toEqual([['ban', u.user.id, { reason: 'spam links' }], ['unban', u.user.id, {}]]);
  });

  it('delete a message whatever its age (a withdraw: Cmd 7 to both); dissolve a group (Cmd 31 from 0); stats count them', async () => {
    const { a, b } = await makeFriends(t.api);
    const sent = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'old and bad' }, { token: a.token })).data;
    await t.dbh.db.updateTable('messages').set({ created_at: Date.now() - 3_600_000 }).where('id', '=', sent.id).execute();
    expect((await post(t.api, '/im/chat/withdraw/user', { message_id: sent.id }, { token: a.token })).status).toBe(409);
    const peer = await signedInSocket(t.url, b.token);
    open.push(peer);
    expect((await asAdmin(t.api, '/admin/messages/delete', { message_id: sent.id, reason: 'reported' })).code).toBe(0);
    expect(await peer.next((f) => f.Cmd === 7)).toMatchObject({ Id: sent.id, FromId: a.user.id });
    expect((await t.dbh.db.selectFrom('messages').select('withdrawn_at').where('id', '=', sent.id).executeTakeFirstOrThrow()).withdrawn_at).not.toBeNull();

    const group = (await post(t.api, '/im/group/create', { name: 'to be closed', join_mode: 'open' }, { token: a.token })).data.group;
    await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: b.token });
    const member = await featuredSocket(t.url, b.token, ['group-events']);
    open.push(member);
    expect((await asAdmin(t.api, '/admin/groups/dissolve', { group_id: group.id, reason: 'illegal' })).code).toBe(0);
    expect(await member.next((f) => f.Cmd === 31 && f.Body === 'dissolve')).toMatchObject({ FromId: 0, ToId: group.id });
    expect((await post(t.api, '/im/group/info', { group_id: group.id }, { token: b.token })).data.dissolved).toBe(true);
    expect((await audit()).slice(-2)).toEqual([['delete_message', sent.id, { reason: 'reported' }], ['dissolve_group', group.id, { reason: 'illegal' }]]);

    const stats = (await asAdmin(t.api, '/admin/stats')).data;
    const users = Number((await t.dbh.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    expect(stats).toMatchObject({ users, this_node: { sockets: expect.any(Number), users: expect.any(Number) } });
    expect(stats.messages_per_day).toHaveLength(7);
    const today = new Date().toISOString().slice(0, 10);
    const sentToday = Number((await t.dbh.db.selectFrom('messages').select((eb) => eb.fn.countAll<number>().as('n')).where('created_at', '>=', Date.parse(today)).executeTakeFirstOrThrow()).n);
    expect(stats.messages_per_day.at(-1)).toEqual({ day: today, messages: sentToday });
  });
});

describe('admin API off', () => {
  it('without admin.token the routes do not exist (404)', async () => {
    const t = await startTestNode('sqlite');
    try {
      expect((await asAdmin(t.api, '/admin/stats')).status).toBe(404);
    } finally {
      await t.stop();
    }
  });
});

describe('admin ban in a cluster', () => {
  let cluster: Awaited<ReturnType<typeof startClusterNodes>>;
  beforeAll(async () => {
    cluster = await startClusterNodes(`ban${process.pid}`, ['n1', 'n2'], { WEIM_ADMIN_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await cluster.stop();
  });

  it('a ban asked of one node closes the user\'s sockets on the other and refuses the token there', async () => {
    const [n1, n2] = cluster.nodes as [TestNode, TestNode];
    const u = await registerUser(n1.api);
    const second = await login(n2.api, u.username);
    const onN2 = await signedInSocket(n2.url, second);
    expect((await asAdmin(n1.api, '/admin/users/ban', { user_id: u.user.id, reason: 'fraud' })).code).toBe(0);
    expect((await onN2.closed).code).toBe(4003);
    expect((await post(n2.api, '/user/info', {}, { token: second })).status).toBe(401);
    expect((await post(n2.api, '/login', { username: u.username, password: u.password })).code).toBe(1009);
  });
});
