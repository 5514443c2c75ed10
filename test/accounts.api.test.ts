import jwt from 'jsonwebtoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIdCard } from '../src/modules/users/index.js';
import { testDialects } from './helpers/database.js';
import { post, registerUser, uniqueUsername } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { signedInSocket } from './helpers/ws.js';

/** A valid PRC ID number (male, born 1990-03-07) and one with a broken checksum. */
const ID_MALE = '11010519900307013X';
const ID_FEMALE = '440305199912310126';

describe.each(testDialects())('accounts API on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_AUTH_LOGIN_MAX_PER_USER: '3', WEIM_UPLOADS_DEFAULT_AVATAR: 'https://cdn.example.test/default-avatar.png' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('register → login → user/info → logout round trip, form-encoded', async () => {
    const username = uniqueUsername('Form');
    const reg = await post(t.api, '/register', { username, password: 'secret123' }, { form: true });
    expect(reg.status).toBe(200);
    expect(reg.code).toBe(0);
    expect(t.config.uploads.default_avatar).toBe('https://cdn.example.test/default-avatar.png');
    expect(reg.data.user).toEqual({ id: expect.any(Number), username: username.toLowerCase(), nickname: username.toLowerCase(), avatar: t.config.uploads.default_avatar, sex: 0 });
    const login = await post(t.api, '/login', { username, password: 'secret123' }, { form: true });
    expect(login.code).toBe(0);
    expect(login.data.user.id).toBe(reg.data.user.id);
    const info = await post(t.api, '/user/info', {}, { token: login.data.t, form: true });
    expect(info.data).toMatchObject({ id: reg.data.user.id, real_name_verified: false, id_card_masked: null });
    const out = await post(t.api, '/logout', {}, { token: login.data.t, form: true });
    expect(out.code).toBe(0);
    const after = await post(t.api, '/user/info', {}, { token: login.data.t });
    expect([after.status, after.code]).toEqual([401, 1001]);
    // The registration token is a different session and still works.
    expect((await post(t.api, '/user/info', {}, { token: reg.data.t })).code).toBe(0);
  });

  it('/logout/all ends every session of the user: all tokens refused, every socket closed (4003); others untouched; a new login works', async () => {
    const u = await registerUser(t.api);
    const other = await registerUser(t.api);
    const second = (await post(t.api, '/login', { username: u.username, password: u.password })).data.t as string;
    // Verified once over HTTP first, so the "not revoked" cache holds both tokens.
    for (const token of [u.token, second]) expect((await post(t.api, '/user/info', {}, { token })).code).toBe(0);
    const [s1, s2, so] = await Promise.all([signedInSocket(t.url, u.token), signedInSocket(t.url, second), signedInSocket(t.url, other.token)]);
    expect((await post(t.api, '/logout/all', {}, { token: second })).code).toBe(0);
    for (const token of [u.token, second]) {
      const res = await post(t.api, '/user/info', {}, { token });
      expect([res.status, res.code]).toEqual([401, 1001]);
    }
    for (const s of [s1, s2]) expect((await s.closed).code).toBe(4003);
    expect((await post(t.api, '/user/info', {}, { token: other.token })).code).toBe(0);
    expect(so.ws.readyState).toBe(so.ws.OPEN);
    const again = await post(t.api, '/login', { username: u.username, password: u.password });
    expect((await post(t.api, '/user/info', {}, { token: again.data.t })).code).toBe(0);
    const row = await t.dbh.db.selectFrom('users').select('sessions_valid_after').where('id', '=', u.user.id).executeTakeFirstOrThrow();
    expect(Number(row.sessions_valid_after)).toBeGreaterThan(0);
    so.ws.terminate();
  });

  it('stores a bcrypt hash, never the password', async () => {
    const { user } = await registerUser(t.api);
    const row = await t.dbh.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^\$2b\$04\$/);
    expect(row.password_hash).not.toContain('secret123');
  });

  it('refuses a taken username case-insensitively and bad fields, storing nothing', async () => {
    const { username } = await registerUser(t.api);
    const dup = await post(t.api, '/register', { username: username.toUpperCase(), password: 'secret123' });
    expect([dup.status, dup.code]).toEqual([409, 1000]);
    const before = await t.dbh.db.selectFrom('users').select(({ fn }) => fn.countAll().as('n')).executeTakeFirstOrThrow();
    for (const body of [
      { username: 'short', password: 'secret123' },
      { username: 'has space!', password: 'secret123' },
      { username: 'x'.repeat(21), password: 'secret123' },
      { username: uniqueUsername(), password: '12345' },
      { username: uniqueUsername(), password: 'p'.repeat(65) },
      { username: uniqueUsername() },
    ]) {
      const res = await post(t.api, '/register', body);
      expect([res.status, res.code], JSON.stringify(body)).toEqual([400, 1000]);
      expect(res.msg).toMatch(/username|password/);
    }
    const after = await t.dbh.db.selectFrom('users').select(({ fn }) => fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('login: wrong password and unknown user get the same answer', async () => {
    const { username } = await registerUser(t.api);
    const wrong = await post(t.api, '/login', { username, password: 'wrong-pass' });
    const unknown = await post(t.api, '/login', { username: uniqueUsername('ghost'), password: 'wrong-pass' });
    expect([wrong.status, wrong.code, wrong.msg]).toEqual([401, 1001, 'wrong username or password']);
    expect([unknown.status, unknown.code, unknown.msg]).toEqual([401, 1001, 'wrong username or password']);
  });

  it('rate-limits login per username with Retry-After; success resets the count', async () => {
    const { username } = await registerUser(t.api);
    await post(t.api, '/login', { username, password: 'wrong-pass' });
    await post(t.api, '/login', { username, password: 'wrong-pass' });
    expect((await post(t.api, '/login', { username, password: 'secret123' })).code).toBe(0);
    for (let i = 0; i < 3; i++) await post(t.api, '/login', { username, password: 'wrong-pass' });
    const limited = await post(t.api, '/login', { username, password: 'secret123' });
    expect([limited.status, limited.code]).toEqual([429, 1005]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('accepts Authorization: Bearer and rejects missing, forged and expired tokens', async () => {
    const { token, user } = await registerUser(t.api);
    const bearer = await post(t.api, '/user/info', {}, { headers: { Authorization: `Bearer ${token}` } });
    expect(bearer.data.id).toBe(user.id);
    const forged = jwt.sign({ jti: 'x' }, 'not-the-secret', { subject: String(user.id), issuer: 'weim', expiresIn: 60 });
    const expired = jwt.sign({ jti: 'y', iat: Math.floor(Date.now() / 1000) - 100 }, t.config.auth.jwt_secret, { subject: String(user.id), issuer: 'weim', expiresIn: 10 });
    const headerSets: Array<Record<string, string>> = [{}, { 'Login-Token': 'garbage' }, { 'Login-Token': forged }, { 'Login-Token': expired }, { Authorization: 'Basic abc' }];
    for (const headers of headerSets) {
      const res = await post(t.api, '/user/info', {}, { headers });
      expect([res.status, res.code, res.data]).toEqual([401, 1001, null]);
    }
  });

  it('a token used many times still stops working the moment it expires', async () => {
    const { user } = await registerUser(t.api);
    const shortLived = jwt.sign({ jti: `short-${user.id}` }, t.config.auth.jwt_secret, { subject: String(user.id), issuer: 'weim', expiresIn: 2 });
    const expiresAt = (jwt.decode(shortLived) as { exp: number }).exp * 1000;
    for (let i = 0; i < 3; i++) expect((await post(t.api, '/user/info', {}, { headers: { 'Login-Token': shortLived } })).code).toBe(0);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 50));
    const res = await post(t.api, '/user/info', {}, { headers: { 'Login-Token': shortLived } });
    expect([res.status, res.code]).toEqual([401, 1001]);
  });

  it('hands back a fresh token past half-life, not before', async () => {
    const { token, user } = await registerUser(t.api);
    const fresh = await post(t.api, '/user/info', {}, { token });
    expect(fresh.headers.get('login-token')).toBeNull();
    const ttl = t.config.auth.token_ttl_seconds;
    const old = jwt.sign({ jti: 'half-life-test', iat: Math.floor(Date.now() / 1000) - Math.ceil(ttl * 0.6) }, t.config.auth.jwt_secret, {
      subject: String(user.id), issuer: 'weim', expiresIn: ttl,
    });
    const refreshed = await post(t.api, '/user/info', {}, { token: old });
    const next = refreshed.headers.get('login-token');
    expect(next).toBeTruthy();
    expect((await post(t.api, '/user/info', {}, { token: next! })).data.id).toBe(user.id);
  });

  it('user/info of another user is the public shape; unknown user is 404', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const other = await post(t.api, '/user/info', { user_id: b.user.id }, { token: a.token, form: true });
    expect(other.data).toEqual({ id: b.user.id, username: b.username, nickname: b.username, avatar: t.config.uploads.default_avatar, sex: 0 });
    const missing = await post(t.api, '/user/info', { user_id: 99_999_999 }, { token: a.token });
    expect([missing.status, missing.code]).toEqual([404, 1002]);
    const bad = await post(t.api, '/user/info', { user_id: 'abc' }, { token: a.token });
    expect([bad.status, bad.code]).toEqual([400, 1000]);
  });

  it('updates the nickname (1–20 characters, CJK counted as one) and rejects bad ones', async () => {
    const { token, user } = await registerUser(t.api);
    const ok = await post(t.api, '/user/update/nickname', { nickname: '  小明同学🙂  ' }, { token, form: true });
    expect(ok.code).toBe(0);
    expect(ok.data.user.nickname).toBe('小明同学🙂');
    for (const nickname of ['', '   ', '字'.repeat(21), 'tab\there']) {
      const res = await post(t.api, '/user/update/nickname', { nickname }, { token });
      expect([res.status, res.code], nickname).toEqual([400, 1000]);
    }
    const row = await t.dbh.db.selectFrom('users').select('nickname').where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row.nickname).toBe('小明同学🙂');
  });

  it('verifies a real name once: sex derived, ID stored only as HMAC and mask', async () => {
    const { token, user } = await registerUser(t.api);
    const res = await post(t.api, '/user/update/realname', { real_name: '张三', id_card: ID_MALE.toLowerCase() }, { token, form: true });
    expect(res.code).toBe(0);
    expect(res.data.user).toMatchObject({ sex: 1, real_name_verified: true, id_card_masked: '110***********013X' });
    expect(JSON.stringify(res.data)).not.toContain(ID_MALE);
    const row = await t.dbh.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(ID_MALE);
    expect(row.id_card_hmac).toMatch(/^[0-9a-f]{64}$/);
    const again = await post(t.api, '/user/update/realname', { real_name: '张三', id_card: ID_FEMALE }, { token });
    expect([again.status, again.code]).toEqual([409, 1000]);
    const other = await registerUser(t.api);
    const reused = await post(t.api, '/user/update/realname', { real_name: '李四', id_card: ID_MALE }, { token: other.token });
    expect([reused.status, reused.code]).toEqual([409, 1000]);
    const female = await post(t.api, '/user/update/realname', { real_name: '王芳', id_card: ID_FEMALE }, { token: other.token });
    expect(female.data.user.sex).toBe(2);
  });

  it('refuses bad real-name input and changes nothing', async () => {
    const { token, user } = await registerUser(t.api);
    const cases = [
      { real_name: '张三', id_card: '110105199003070031' }, // checksum
      { real_name: '张三', id_card: '990105199003070035' }, // region
      { real_name: '张三', id_card: '110105199002300036' }, // Feb 30
      { real_name: 'Zhang San', id_card: ID_MALE },
      { real_name: '张', id_card: ID_MALE },
      { real_name: '张三' },
    ];
    for (const body of cases) {
      expect(checkIdCard(String(body.id_card ?? '')).ok && /^[\u4e00-\u9fff]{2,}$/.test(body.real_name)).toBe(false);
      const res = await post(t.api, '/user/update/realname', body, { token });
      expect([res.status, res.code], JSON.stringify(body)).toEqual([400, 1000]);
    }
    const row = await t.dbh.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect([row.realname_verified_at, row.id_card_hmac, row.sex]).toEqual([null, null, 0]);
  });
});

describe('registration rate limit', () => {
  it('limits registrations per client IP, storing nothing past the cap', async () => {
    const t = await startTestNode('sqlite', { WEIM_AUTH_REGISTER_MAX_PER_IP: '2' });
    try {
      await registerUser(t.api);
      await registerUser(t.api);
      const third = await post(t.api, '/register', { username: uniqueUsername(), password: 'secret123' });
      expect([third.status, third.code]).toEqual([429, 1005]);
      const n = await t.dbh.db.selectFrom('users').select(({ fn }) => fn.countAll().as('n')).executeTakeFirstOrThrow();
      expect(Number(n.n)).toBe(2);
    } finally {
      await t.stop();
    }
  });
});
