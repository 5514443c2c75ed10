import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectOf } from '../src/db/migration-kit.js';
import { testDialects } from './helpers/database.js';
import { registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { signedPush } from './helpers/push.js';
import { settle, socketPool } from './helpers/ws.js';

const SHOP = { app: 'shop', secret: randomBytes(24).toString('hex') };
const CRM = { app: 'crm', secret: randomBytes(24).toString('hex') };
const newKey = () => `order-${randomBytes(6).toString('hex')}`;

describe.each(testDialects())('push API Idempotency-Key on %s', (dialect) => {
  let t: TestNode;
  const pool = socketPool(() => t.url);
  const eventsOf = async (userIds: number[]) => {
    const rows = await t.dbh.db.selectFrom('user_events').select(['user_id', 'body']).where('user_id', 'in', userIds).where('cmd', '=', 25).execute();
    return rows.map((r) => ({ user: Number(r.user_id), body: r.body }));
  };
  /** `n` users stored directly (a push to hundreds of them spans several of its batches). */
  const manyUsers = async (n: number) => {
    const now = Date.now();
    const tag = randomBytes(4).toString('hex');
    const rows = Array.from({ length: n }, (_, i) => ({ username: `p${tag}_${i}`, password_hash: 'x', nickname: `p${i}`, created_at: now, updated_at: now }));
    await t.dbh.db.insertInto('users').values(rows).execute();
    const stored = await t.dbh.db.selectFrom('users').select('id').where('username', 'like', `p${tag}_%`).orderBy('id').execute();
    return stored.map((r) => Number(r.id));
  };

  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_PUSH_APPS: `${SHOP.app}:${SHOP.secret},${CRM.app}:${CRM.secret}` });
  });
  afterAll(async () => {
    pool.terminateAll();
    await t?.stop();
  });

  it('a retry after a lost reply gets the first answer (same status and body) and pushes nothing more; sent as it is or signed anew', async () => {
    const u = await registerUser(t.api);
    const device = await pool.socket(u.token);
    const key = newKey();
    const body = { user_ids: [u.user.id, 99_999_999], body: 'your order shipped' };
    const request = signedPush(t.api, '/push/users', body, SHOP, { 'Idempotency-Key': key });
    const first = await request.send();
    expect([first.status, first.code, first.data]).toEqual([200, 0, { pushed: [u.user.id], unknown: [99_999_999] }]);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same bytes again (its nonce included), as a client whose reply was lost sends them.
    const again = await request.send();
    expect([again.status, again.text]).toEqual([200, first.text]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // Signed anew (a new nonce and timestamp, as after the timestamp went stale), on the same key.
    const resigned = await signedPush(t.api, '/push/users', body, SHOP, { 'Idempotency-Key': key }).send();
    expect([resigned.status, resigned.text]).toEqual([200, first.text]);
    await settle();
    expect(device.of(25).map((f) => f.Body)).toEqual(['your order shipped']);
    expect(await eventsOf([u.user.id])).toEqual([{ user: u.user.id, body: 'your order shipped' }]);
  });

  it('the same request with its nonce but without its key, or under another key, is a replay (401) and pushes nothing', async () => {
    const u = await registerUser(t.api);
    const request = signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'once' }, SHOP, { 'Idempotency-Key': newKey() });
    expect((await request.send()).code).toBe(0);
    for (const attempt of [{ without: ['Idempotency-Key'] }, { headers: { 'Idempotency-Key': newKey() } }]) {
      const replayed = await request.send(attempt);
      expect([replayed.status, replayed.code, replayed.msg]).toEqual([401, 1001, expect.stringMatching(/nonce/)]);
    }
    // A request first sent without a key cannot be sent again with one either.
    const plain = signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'plain' }, SHOP);
    expect((await plain.send()).code).toBe(0);
    expect((await plain.send({ headers: { 'Idempotency-Key': newKey() } })).status).toBe(401);
    expect((await eventsOf([u.user.id])).map((e) => e.body)).toEqual(['once', 'plain']);
  });

  it('a key used again for another body or route is 422 / 1000 and changes nothing; keys are per app', async () => {
    const u = await registerUser(t.api);
    const key = newKey();
    expect((await signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'first' }, SHOP, { 'Idempotency-Key': key }).send()).code).toBe(0);
    const otherBody = await signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'second' }, SHOP, { 'Idempotency-Key': key }).send();
    expect([otherBody.status, otherBody.code, otherBody.msg]).toEqual([422, 1000, expect.stringMatching(/Idempotency-Key was used for another request/)]);
    const otherRoute = await signedPush(t.api, '/push/broadcast', { body: 'first' }, SHOP, { 'Idempotency-Key': key }).send();
    expect([otherRoute.status, otherRoute.code]).toEqual([422, 1000]);
    const otherApp = await signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'second' }, CRM, { 'Idempotency-Key': key }).send();
    expect([otherApp.status, otherApp.code]).toEqual([200, 0]);
    expect((await eventsOf([u.user.id])).map((e) => e.body)).toEqual(['first', 'second']);
  });

  it('a malformed key is 400 / 1000 and pushes nothing', async () => {
    const u = await registerUser(t.api);
    for (const key of ['k'.repeat(256), 'café', '']) {
      const res = await signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'x' }, SHOP, { 'Idempotency-Key': key }).send();
      expect([key.slice(0, 8), res.status, res.code, res.msg]).toEqual([key.slice(0, 8), 400, 1000, 'Idempotency-Key must be 1 to 255 printable ASCII characters']);
    }
    expect((await signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'x' }, SHOP, { 'Idempotency-Key': ' ~'.repeat(127) + 'k' }).send()).code).toBe(0);
    expect(await eventsOf([u.user.id])).toHaveLength(1);
  });

  it('a retry that arrives while the first attempt still runs is 409 / 1000 (Retry-After: 1) and pushes nothing; the first answers, then every retry gets its answer', async () => {
    const u = await registerUser(t.api);
    const request = signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'slow' }, SHOP, { 'Idempotency-Key': newKey() });
    // The user's row is held by a transaction: the push waits for it (SQLite: for the one connection).
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let locked!: () => void;
    const lockTaken = new Promise<void>((r) => (locked = r));
    const blocker = t.dbh.db.transaction().execute(async (trx) => {
      if (dialectOf(t.dbh.db) === 'mysql') await sql`select id from users where id = ${u.user.id} for update`.execute(trx);
      locked();
      await held;
    });
    await lockTaken;
    const both = [request.send(), request.send()];
    const first = await Promise.race(both);
    expect([first.status, first.code, first.msg, first.headers.get('retry-after')]).toEqual([409, 1000, expect.stringMatching(/in progress/), '1']);
    release();
    await blocker;
    const answers = await Promise.all(both);
    const done = answers.find((a) => a.status === 200)!;
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(done.data).toEqual({ pushed: [u.user.id], unknown: [] });
    const later = await request.send();
    expect([later.status, later.text]).toEqual([200, done.text]);
    expect(await eventsOf([u.user.id])).toHaveLength(1);
  });

  it('/push/users failing midway: no final answer is stored, and the retry pushes only the users the failed attempt had not, each user once', async () => {
    const ids = await manyUsers(250);
    const failAt = ids[230]!;
    // A database error in the third batch (users 201–250): the first two batches are stored.
    const mysql = dialectOf(t.dbh.db) === 'mysql';
    await sql.raw(mysql
      ? `create trigger fail_push before insert on user_events for each row begin if new.user_id = ${failAt} then signal sqlstate '45000' set message_text = 'boom'; end if; end`
      : `create trigger fail_push before insert on user_events when new.user_id = ${failAt} begin select raise(abort, 'boom'); end`).execute(t.dbh.db);
    const request = signedPush(t.api, '/push/users', { user_ids: [...ids].reverse(), body: 'sale starts' }, SHOP, { 'Idempotency-Key': newKey() });
    try {
      const failed = await request.send();
      expect([failed.status, failed.code]).toEqual([500, 1500]);
    } finally {
      await sql.raw('drop trigger fail_push').execute(t.dbh.db);
    }
    expect((await eventsOf(ids)).map((e) => e.user).sort((a, b) => a - b)).toEqual(ids.slice(0, 200));
    const retried = await request.send();
    expect([retried.status, retried.code, retried.data]).toEqual([200, 0, { pushed: ids, unknown: [] }]);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    const events = await eventsOf(ids);
    expect(events.map((e) => e.user).sort((a, b) => a - b)).toEqual(ids);
    expect(await request.send()).toMatchObject({ status: 200, text: retried.text });
  });

  it('/push/group is resumed the same way, and a 4xx answer (an unknown group) is final like a 200', async () => {
    const owner = await registerUser(t.api);
    const group = (await t.dbh.db.insertInto('groups').values({ name: 'g', owner_id: owner.user.id, member_count: 0, created_at: 0, updated_at: 0 }).executeTakeFirstOrThrow());
    const groupId = Number(group.insertId);
    const ids = await manyUsers(120);
    await t.dbh.db.insertInto('group_members').values(ids.map((id) => ({ group_id: groupId, user_id: id, role: 0, joined_at: 0 }))).execute();
    const mysql = dialectOf(t.dbh.db) === 'mysql';
    await sql.raw(mysql
      ? `create trigger fail_group before insert on user_events for each row begin if new.user_id = ${ids[110]} then signal sqlstate '45000' set message_text = 'boom'; end if; end`
      : `create trigger fail_group before insert on user_events when new.user_id = ${ids[110]} begin select raise(abort, 'boom'); end`).execute(t.dbh.db);
    const request = signedPush(t.api, '/push/group', { group_id: groupId, body: 'standup' }, SHOP, { 'Idempotency-Key': newKey() });
    try {
      expect((await request.send()).status).toBe(500);
    } finally {
      await sql.raw('drop trigger fail_group').execute(t.dbh.db);
    }
    expect(await request.send()).toMatchObject({ status: 200, data: { pushed: 120 } });
    expect((await eventsOf(ids)).map((e) => e.user).sort((a, b) => a - b)).toEqual(ids);
    const unknown = signedPush(t.api, '/push/group', { group_id: 99_999_999, body: 'x' }, SHOP, { 'Idempotency-Key': newKey() });
    const notFound = await unknown.send();
    expect([notFound.status, notFound.code]).toEqual([404, 1002]);
    const again = await unknown.send();
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([404, notFound.text, 'true']);
  });
});

describe('push API Idempotency-Key: rate limit', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite', { WEIM_PUSH_APPS: `${SHOP.app}:${SHOP.secret}`, WEIM_PUSH_MAX_PER_SECOND: '1' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('a request refused with 429 is run when the same request (nonce and key) is sent again', async () => {
    const u = await registerUser(t.api);
    const filler = signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'filler' }, SHOP);
    const request = signedPush(t.api, '/push/users', { user_ids: [u.user.id], body: 'keyed' }, SHOP, { 'Idempotency-Key': newKey() });
    expect((await filler.send()).code).toBe(0);
    const refused = await request.send();
    expect([refused.status, refused.code]).toEqual([429, 1005]);
    await new Promise((r) => setTimeout(r, 1100));
    const retried = await request.send();
    expect([retried.status, retried.code]).toEqual([200, 0]);
    const bodies = (await t.dbh.db.selectFrom('user_events').select('body').where('user_id', '=', u.user.id).execute()).map((e) => e.body);
    expect(bodies.filter((b) => b === 'keyed')).toHaveLength(1);
  });
});
