import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

describe.each(testDialects())('friends API on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect);
  });
  afterAll(async () => {
    await t?.stop();
  });

  const framesTo = (userId: number, cmd: number) => t.node.recorder!.recent.filter((n) => n.userIds.includes(userId) && n.frame.Cmd === cmd);
  const friendRows = (a: number, b: number) =>
    t.dbh.db.selectFrom('friends').selectAll().where((eb) => eb.or([
      eb.and([eb('user_id', '=', a), eb('friend_id', '=', b)]),
      eb.and([eb('user_id', '=', b), eb('friend_id', '=', a)]),
    ])).execute();

  it('request by username → Cmd 8 → listed → accept → friends on both sides, Cmd 9', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const req = await post(t.api, '/im/friend/add/request', { username: b.username, reason: 'hi there', channel: 'search' }, { token: a.token, form: true });
    expect(req.code).toBe(0);
    expect(req.data.request_id).toEqual(expect.any(Number));
    expect(framesTo(b.user.id, 8).at(-1)?.frame).toEqual({ Cmd: 8, FromId: a.user.id, ToId: b.user.id, Ope: 0, Type: 0, Body: 'hi there', EventSeq: 1, Time: expect.any(Number) });
    const reqs = await post(t.api, '/im/friend/add/reqs', {}, { token: b.token });
    expect(reqs.data.list).toEqual([{ id: req.data.request_id, from: { ...a.user }, channel: 'search', reason: 'hi there', created_at: expect.any(Number) }]);
    const handled = await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token, form: true });
    expect(handled.code).toBe(0);
    expect(framesTo(a.user.id, 9).at(-1)?.frame).toMatchObject({ Cmd: 9, FromId: b.user.id, ToId: a.user.id });
    expect(await friendRows(a.user.id, b.user.id)).toHaveLength(2);
    expect((await post(t.api, '/im/friend/list', {}, { token: a.token })).data.list).toEqual([b.user]);
    expect((await post(t.api, '/im/friend/list', {}, { token: b.token })).data.list).toEqual([a.user]);
    expect((await post(t.api, '/im/friend/add/reqs', {}, { token: b.token })).data.list).toEqual([]);
  });

  it('reject by request_id leaves them strangers; a later request works again', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const req = await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    expect((await post(t.api, '/im/friend/add/handle', { request_id: req.data.request_id, status: -1 }, { token: b.token })).code).toBe(0);
    expect(await friendRows(a.user.id, b.user.id)).toHaveLength(0);
    expect(framesTo(a.user.id, 9)).toHaveLength(0);
    const again = await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    expect(again.code).toBe(0);
    expect((await post(t.api, '/im/friend/add/reqs', {}, { token: b.token })).data.list).toHaveLength(1);
  });

  it('a second pending request is not duplicated (same id, one notification)', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const first = await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    const second = await post(t.api, '/im/friend/add/request', { username: b.username }, { token: a.token });
    expect(second.data.request_id).toBe(first.data.request_id);
    expect(framesTo(b.user.id, 8)).toHaveLength(1);
    const rows = await t.dbh.db.selectFrom('friend_requests').selectAll().where('to_uid', '=', b.user.id).execute();
    expect(rows).toHaveLength(1);
  });

  it('if the target already asked you, your request accepts theirs', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    const back = await post(t.api, '/im/friend/add/request', { f_uid: a.user.id }, { token: b.token });
    expect(back.data.accepted).toBe(true);
    expect(await friendRows(a.user.id, b.user.id)).toHaveLength(2);
    expect(framesTo(a.user.id, 9)).toHaveLength(1);
  });

  it('refuses self, unknown users, existing friends and bad input', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const self = await post(t.api, '/im/friend/add/request', { f_uid: a.user.id }, { token: a.token });
    expect([self.status, self.code]).toEqual([400, 1000]);
    const ghost = await post(t.api, '/im/friend/add/request', { f_uid: 987_654_321 }, { token: a.token });
    expect([ghost.status, ghost.code]).toEqual([404, 1002]);
    const none = await post(t.api, '/im/friend/add/request', {}, { token: a.token });
    expect([none.status, none.code]).toEqual([400, 1000]);
    const long = await post(t.api, '/im/friend/add/request', { f_uid: b.user.id, reason: 'x'.repeat(101) }, { token: a.token });
    expect([long.status, long.code]).toEqual([400, 1000]);
    await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token });
    const again = await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    expect([again.status, again.code]).toEqual([409, 1000]);
    const noPending = await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token });
    expect([noPending.status, noPending.code]).toEqual([404, 1002]);
    const badStatus = await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 5 }, { token: b.token });
    expect([badStatus.status, badStatus.code]).toEqual([400, 1000]);
    const anon = await post(t.api, '/im/friend/list', {});
    expect([anon.status, anon.code]).toEqual([401, 1001]);
  });

  it('only the addressee can handle a request', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    const c = await registerUser(t.api);
    const req = await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    const byStranger = await post(t.api, '/im/friend/add/handle', { request_id: req.data.request_id, status: 1 }, { token: c.token });
    expect([byStranger.status, byStranger.code]).toEqual([404, 1002]);
    const bySender = await post(t.api, '/im/friend/add/handle', { request_id: req.data.request_id, status: 1 }, { token: a.token });
    expect(bySender.code).toBe(1002);
    expect(await friendRows(a.user.id, b.user.id)).toHaveLength(0);
  });

  it('delete ends the friendship on both sides', async () => {
    const a = await registerUser(t.api);
    const b = await registerUser(t.api);
    await post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token });
    await post(t.api, '/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, { token: b.token });
    expect((await post(t.api, '/im/friend/del', { f_uid: b.user.id }, { token: a.token, form: true })).code).toBe(0);
    expect(await friendRows(a.user.id, b.user.id)).toHaveLength(0);
    expect((await post(t.api, '/im/friend/list', {}, { token: b.token })).data.list).toEqual([]);
    const twice = await post(t.api, '/im/friend/del', { f_uid: b.user.id }, { token: a.token });
    expect([twice.status, twice.code]).toEqual([404, 1002]);
  });

  it('two users asking each other at the same moment end as friends once', async () => {
    for (let round = 0; round < 5; round++) {
      const a = await registerUser(t.api);
      const b = await registerUser(t.api);
      const [ra, rb] = await Promise.all([
        post(t.api, '/im/friend/add/request', { f_uid: b.user.id }, { token: a.token }),
        post(t.api, '/im/friend/add/request', { f_uid: a.user.id }, { token: b.token }),
      ]);
      expect([ra.code, rb.code]).toEqual([0, 0]);
      expect([ra.data.accepted, rb.data.accepted].filter(Boolean)).toHaveLength(1);
      expect(await friendRows(a.user.id, b.user.id)).toHaveLength(2);
      const requests = await t.dbh.db.selectFrom('friend_requests').selectAll().where('user_lo', '=', Math.min(a.user.id, b.user.id)).execute();
      expect(requests).toHaveLength(1);
      expect(requests[0]!.status).toBe(1);
    }
  });
});
