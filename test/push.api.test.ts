import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signPush } from '../src/modules/push/index.js';
import { testDialects } from './helpers/database.js';
import { login, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { SyncDevice } from './helpers/sync-client.js';
import { settle, socketPool } from './helpers/ws.js';

const SHOP = { app: 'shop', secret: 's'.repeat(20) + randomBytes(16).toString('hex') };
const CRM = { app: 'crm-2', secret: randomBytes(24).toString('hex') };

interface Signed {
  app?: string;
  secret?: string;
  timestamp?: number;
  nonce?: string;
  /** Sign this text instead of the body sent (a tampered request). */
  signedBody?: string;
}

/** A push API request as a business backend sends it: JSON, signed with its app's secret. */
async function push(api: string, path: string, body: unknown, signed: Signed = {}) {
  const { app, secret } = { ...SHOP, ...signed };
  const text = JSON.stringify(body);
  const timestamp = String(signed.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = signed.nonce ?? randomBytes(12).toString('hex');
  const fullPath = new URL(`${api}${path}`).pathname;
  const signature = signPush(secret, { timestamp, nonce, method: 'POST', path: fullPath, body: signed.signedBody ?? text });
  const response = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Weim-App': app, 'X-Weim-Timestamp': timestamp, 'X-Weim-Nonce': nonce, 'X-Weim-Signature': signature },
    body: text,
  });
  const envelope = (await response.json()) as { code: number; msg: string; data: any };
  return { status: response.status, ...envelope };
}

describe.each(testDialects())('server push API on %s', (dialect) => {
  let t: TestNode;
  const pool = socketPool(() => t.url);
  const socket = pool.socket;
  const eventsOf = (userId: number) => t.dbh.db.selectFrom('user_events').selectAll().where('user_id', '=', userId).where('cmd', '=', 25).execute();

  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_PUSH_APPS: `${SHOP.app}:${SHOP.secret}, ${CRM.app}:${CRM.secret}`, WEIM_PUSH_MAX_USERS: '5', WEIM_PUSH_MAX_BODY_CHARS: '4000' });
  });
  afterAll(async () => {
    pool.terminateAll();
    await t?.stop();
  });

  it('/push/users: stored in each user\'s event stream, then Cmd 25 to every device of those users and no one else', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const stranger = await registerUser(t.api);
    const [a1, a2, b1, s] = await Promise.all([socket(a.token), socket(await login(t.api, a.username)), socket(b.token), socket(stranger.token)]);
    const body = JSON.stringify({ kind: 'order_shipped', order: 'A-1001', note: '已发货\nline two' });
    const res = await push(t.api, '/push/users', { user_ids: [b.user.id, a.user.id, a.user.id, 99_999_999], body });
    expect([res.status, res.code]).toEqual([200, 0]);
    expect(res.data).toEqual({ pushed: [a.user.id, b.user.id].sort((x, y) => x - y), unknown: [99_999_999] });
    for (const [device, user] of [[a1, a], [a2, a], [b1, b]] as const) {
      expect(await device.next((f) => f.Cmd === 25)).toEqual({ Cmd: 25, FromId: 0, ToId: user.user.id, Ope: 2, Type: 0, Body: body, EventSeq: expect.any(Number), Time: expect.any(Number) });
    }
    expect((await eventsOf(a.user.id)).map((e) => e.body)).toEqual([body]);
    expect((await eventsOf(b.user.id)).map((e) => e.body)).toEqual([body]);
    await settle();
    expect(s.of(25)).toEqual([]);
    expect(a1.of(25)).toHaveLength(1);
    expect(await eventsOf(stranger.user.id)).toEqual([]);
  });

  it('/push/group: every member, stored in each one\'s event stream, no one else; an unknown group is 404', async () => {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const outsider = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'crew' }, { token: owner.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: member.token });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    const [so, sm, sx] = await Promise.all([socket(owner.token), socket(member.token), socket(outsider.token)]);
    const res = await push(t.api, '/push/group', { group_id: group.id, body: 'standup in 5' });
    expect([res.code, res.data]).toEqual([0, { pushed: 2 }]);
    for (const s of [so, sm]) expect(await s.next((f) => f.Cmd === 25)).toMatchObject({ Body: 'standup in 5', EventSeq: expect.any(Number) });
    expect((await eventsOf(member.user.id)).map((e) => e.body)).toEqual(['standup in 5']);
    await settle();
    expect(sx.of(25)).toEqual([]);
    expect(await eventsOf(outsider.user.id)).toEqual([]);
    const unknown = await push(t.api, '/push/group', { group_id: 99_999_999, body: 'x' });
    expect([unknown.status, unknown.code]).toEqual([404, 1002]);
  });

  it('a device that was offline gets the push by sync, exactly once', async () => {
    const u = await registerUser(t.api);
    const device = new SyncDevice(t.url, u.token);
    await device.connect();
    device.disconnect();
    // 4,000 characters, each two UTF-16 units and four bytes: stored and synced whole.
    const long = '👋'.repeat(4000);
    expect((await push(t.api, '/push/users', { user_ids: [u.user.id], body: long })).code).toBe(0);
    await device.connect();
    const got = device.received.filter((r) => r.frame.Cmd === 25);
    expect(got.map((r) => r.frame.Body)).toEqual([long]);
    expect(device.faults).toEqual([]);
    device.disconnect();
  });

  it('/push/broadcast reaches every signed-in socket now and stores nothing; /push/online names the online users', async () => {
    const users = await Promise.all([registerUser(t.api), registerUser(t.api), registerUser(t.api)]);
    const [s0, s1] = await Promise.all([socket(users[0]!.token), socket(users[1]!.token)]);
    const online = await push(t.api, '/push/online', { user_ids: users.map((u) => u.user.id) });
    expect(online.data).toEqual({ online: [users[0]!.user.id, users[1]!.user.id] });
    const res = await push(t.api, '/push/broadcast', { body: 'maintenance at 02:00' }, CRM);
    expect([res.status, res.code, res.data]).toEqual([200, 0, {}]);
    for (const s of [s0, s1]) expect(await s.next((f) => f.Cmd === 25 && f.Body === 'maintenance at 02:00')).toMatchObject({ FromId: 0, ToId: 0, Ope: 2, Time: expect.any(Number) });
    expect(await eventsOf(users[0]!.user.id)).toEqual([]);
  });

  it('refuses unsigned, badly signed, tampered, stale and replayed requests (401 / 1001), and they push nothing', async () => {
    const u = await registerUser(t.api);
    const s = await socket(u.token);
    const body = { user_ids: [u.user.id], body: 'should not arrive' };
    const unsigned = await post(t.api, '/push/users', body);
    expect([unsigned.status, unsigned.code]).toEqual([401, 1001]);
    const userToken = await post(t.api, '/push/users', body, { token: u.token });
    expect([userToken.status, userToken.code]).toEqual([401, 1001]);
    const cases: Array<[string, Signed]> = [
      ['wrong secret', { secret: CRM.secret }],
      ['unknown app', { app: 'nobody', secret: SHOP.secret }],
      ['tampered body', { signedBody: JSON.stringify({ user_ids: [u.user.id], body: 'something else' }) }],
      ['stale timestamp', { timestamp: Math.floor(Date.now() / 1000) - 301 }],
      // 302: the timestamp is whole seconds, the server's clock is not (+301 could land within 300 s of it).
      ['future timestamp', { timestamp: Math.floor(Date.now() / 1000) + 302 }],
      ['short nonce', { nonce: 'abc' }],
    ];
    for (const [name, signed] of cases) {
      const res = await push(t.api, '/push/users', body, signed);
      expect([name, res.status, res.code]).toEqual([name, 401, 1001]);
    }
    const nonce = randomBytes(12).toString('hex');
    expect((await push(t.api, '/push/users', { user_ids: [u.user.id], body: 'once' }, { nonce })).code).toBe(0);
    const replay = await push(t.api, '/push/users', { user_ids: [u.user.id], body: 'once' }, { nonce });
    expect([replay.status, replay.code, replay.msg]).toEqual([401, 1001, expect.stringMatching(/nonce/)]);
    await settle();
    expect(s.of(25).map((f) => f.Body)).toEqual(['once']);
    expect((await eventsOf(u.user.id)).map((e) => e.body)).toEqual(['once']);
  });

  it('/push/logout ends every session of a user (tokens refused, sockets closed 4003); an unknown user is 404', async () => {
    const u = await registerUser(t.api);
    const bystander = await registerUser(t.api);
    const [s, b] = await Promise.all([socket(u.token), socket(bystander.token)]);
    expect((await push(t.api, '/push/logout', { user_id: u.user.id })).code).toBe(0);
    expect((await s.closed).code).toBe(4003);
    expect((await post(t.api, '/user/info', {}, { token: u.token })).status).toBe(401);
    expect((await post(t.api, '/user/info', {}, { token: bystander.token })).code).toBe(0);
    expect(b.ws.readyState).toBe(b.ws.OPEN);
    const unknown = await push(t.api, '/push/logout', { user_id: 99_999_999 });
    expect([unknown.status, unknown.code]).toEqual([404, 1002]);
  });

  it('validates every field (400 / 1000) and changes nothing', async () => {
    const u = await registerUser(t.api);
    const bad: Array<[string, unknown]> = [
      ['no users', { user_ids: [], body: 'x' }],
      ['too many users', { user_ids: [1, 2, 3, 4, 5, 6], body: 'x' }],
      ['not ids', { user_ids: ['abc'], body: 'x' }],
      ['empty body', { user_ids: [u.user.id], body: '' }],
      ['body too long', { user_ids: [u.user.id], body: 'x'.repeat(4001) }],
      ['control characters', { user_ids: [u.user.id], body: 'bell\u0007' }],
      // C1 controls are control characters too (found by the input property suite).
      ['a C1 control character', { user_ids: [u.user.id], body: 'next\u0085line' }],
      ['an 8-bit CSI', { user_ids: [u.user.id], body: '\u009b31mred' }],
      ['no body', { user_ids: [u.user.id] }],
    ];
    for (const [name, body] of bad) {
      const res = await push(t.api, '/push/users', body);
      expect([name, res.status, res.code]).toEqual([name, 400, 1000]);
    }
    const form = await fetch(`${t.api}/push/users`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'user_ids=1&body=x' });
    expect(form.status).toBe(400);
    expect(await eventsOf(u.user.id)).toEqual([]);
  });
});

describe('server push API: limits', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', { WEIM_PUSH_APPS: `${SHOP.app}:${SHOP.secret}`, WEIM_PUSH_MAX_PER_SECOND: '3' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('past max_per_second an app gets 429 / 1005, and the refused request, nonce included, goes through when sent again', async () => {
    const u = await registerUser(t.api);
    const nonces = Array.from({ length: 4 }, () => randomBytes(12).toString('hex'));
    const timestamp = Math.floor(Date.now() / 1000);
    const send = (nonce: string) => push(t.api, '/push/users', { user_ids: [u.user.id], body: nonce }, { nonce, timestamp });
    const answers = await Promise.all(nonces.map(send));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 429]);
    const refused = nonces[answers.findIndex((a) => a.status === 429)]!;
    expect(answers.find((a) => a.status === 429)!.code).toBe(1005);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await send(refused)).code).toBe(0);
    const stored = await t.dbh.db.selectFrom('user_events').select('body').where('user_id', '=', u.user.id).execute();
    expect(stored.map((e) => e.body).sort()).toEqual([...nonces].sort());
  });

  it('a replayed request is refused without counting against the app\'s limit', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const u = await registerUser(t.api);
    const nonce = randomBytes(12).toString('hex');
    const first = { user_ids: [u.user.id], body: 'once' };
    expect((await push(t.api, '/push/users', first, { nonce })).code).toBe(0);
    for (let i = 0; i < 5; i++) expect((await push(t.api, '/push/users', first, { nonce })).status).toBe(401);
    for (const body of ['two', 'three']) expect((await push(t.api, '/push/users', { user_ids: [u.user.id], body })).code).toBe(0);
  });

  it('a signed request to a path the push API does not have is 404', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const res = await push(t.api, '/push/nothing-here', { body: 'x' });
    expect([res.status, res.code]).toEqual([404, 1002]);
  });
});

describe('server push API, not configured', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('does not exist: 404, whatever is sent', async () => {
    const u = await registerUser(t.api);
    const res = await push(t.api, '/push/broadcast', { body: 'hello' });
    expect([res.status, res.code]).toEqual([404, 1002]);
    const withToken = await post(t.api, '/push/users', { user_ids: [u.user.id], body: 'x' }, { token: u.token });
    expect(withToken.status).toBe(404);
  });
});
