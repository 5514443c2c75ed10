import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { featuredSocket, settle, type TestSocket } from './helpers/ws.js';

type User = Awaited<ReturnType<typeof registerUser>>;

/** Admins, mute, mute all, transfer: roles enforced, muted sends refused (1006), each a Cmd 31 stream event for group-events sockets. */
describe.each(testDialects())('group administration on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_GROUPS_MAX_ADMINS: '1' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.stop();
  });
  async function device(token: string, features?: string[], cursors?: Record<string, number>): Promise<TestSocket> {
    const s = await featuredSocket(t.url, token, features, cursors);
    open.push(s);
    return s;
  }
  async function groupOf(owner: User, members: User[]) {
    const group = (await post(t.api, '/im/group/create', { name: 'admin' }, { token: owner.token })).data.group as { id: number };
    for (const m of members) {
      const request = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: m.token });
      await post(t.api, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 }, { token: owner.token });
    }
    return group;
  }
  const call = (u: User, path: string, body: Record<string, unknown>) => post(t.api, path, body, { token: u.token });
  const say = (u: User, groupId: number, body = 'hi') => call(u, '/im/chat/send/group', { group_id: groupId, type: 0, body });
  const roles = async (groupId: number) => Object.fromEntries(((await t.dbh.db.selectFrom('group_members').select(['user_id', 'role']).where('group_id', '=', groupId).execute())).map((r) => [Number(r.user_id), Number(r.role)]));

  it('the owner names an admin (at most groups.max_admins); the admin approves joins and mutes members, not the owner; a muted member cannot send (1006), over HTTP and the socket', async () => {
    const owner = await registerUser(t.api);
    const [admin, member, other] = [await registerUser(t.api), await registerUser(t.api), await registerUser(t.api)];
    const group = await groupOf(owner, [admin!, member!, other!]);
    expect((await call(member!, '/im/group/admin/set', { group_id: group.id, user_id: admin!.user.id, admin: 1 })).status).toBe(403);
    expect((await call(owner, '/im/group/admin/set', { group_id: group.id, user_id: admin!.user.id, admin: 1 })).code).toBe(0);
    const second = await call(owner, '/im/group/admin/set', { group_id: group.id, user_id: member!.user.id, admin: 1 });
    expect([second.status, second.msg]).toEqual([409, 'a group has at most 1 admins']);
    expect(await roles(group.id)).toMatchObject({ [owner.user.id]: 2, [admin!.user.id]: 1, [member!.user.id]: 0 });
    // The admin handles a join request.
    const late = await registerUser(t.api);
    const request = await call(late, '/im/group/join/request', { group_id: group.id });
    expect((await call(admin!, '/im/group/join/list', { group_id: group.id })).data.list.map((r: { user: { id: number } }) => r.user.id)).toEqual([late.user.id]);
    expect((await call(admin!, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 })).code).toBe(0);
    // Muting: the admin mutes a member, not the owner; nobody mutes themself.
    expect((await call(admin!, '/im/group/mute', { group_id: group.id, user_id: owner.user.id, seconds: 60 })).status).toBe(403);
    expect((await call(member!, '/im/group/mute', { group_id: group.id, user_id: other!.user.id, seconds: 60 })).status).toBe(403);
    const muted = await call(admin!, '/im/group/mute', { group_id: group.id, user_id: member!.user.id, seconds: 60 });
    expect(muted.data.muted_until).toBeGreaterThan(Date.now());
    const refused = await say(member!, group.id);
    expect([refused.status, refused.code, refused.msg]).toEqual([403, 1006, 'you are muted in this group']);
    const s = await device(member!.token);
    s.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'x', ClientMsgId: 'muted-1' });
    expect(await s.next((f) => f.Cmd === 2)).toMatchObject({ Code: 1006, ClientMsgId: 'muted-1' });
    expect((await say(other!, group.id)).code).toBe(0);
    await call(admin!, '/im/group/mute', { group_id: group.id, user_id: member!.user.id, seconds: 0 });
    expect((await say(member!, group.id)).code).toBe(0);
    // An admin may not remove the owner; may remove a member.
    expect((await call(admin!, '/im/group/shot', { group_id: group.id, user_id: owner.user.id })).status).toBe(403);
    expect((await call(admin!, '/im/group/shot', { group_id: group.id, user_id: late.user.id })).code).toBe(0);
  });

  it('mute all holds members, not the owner and admins; transfer makes a member the owner and the old owner an admin', async () => {
    const owner = await registerUser(t.api);
    const [admin, member] = [await registerUser(t.api), await registerUser(t.api)];
    const group = await groupOf(owner, [admin!, member!]);
    await call(owner, '/im/group/admin/set', { group_id: group.id, user_id: admin!.user.id, admin: 1 });
    expect((await call(member!, '/im/group/mute/all', { group_id: group.id, on: 1 })).status).toBe(403);
    expect((await call(admin!, '/im/group/mute/all', { group_id: group.id, on: 1 })).code).toBe(0);
    expect((await say(member!, group.id)).code).toBe(1006);
    expect((await say(admin!, group.id)).code).toBe(0);
    expect((await say(owner, group.id)).code).toBe(0);
    await call(owner, '/im/group/mute/all', { group_id: group.id, on: 0 });
    expect((await say(member!, group.id)).code).toBe(0);
    expect((await call(admin!, '/im/group/transfer', { group_id: group.id, user_id: member!.user.id })).status).toBe(403);
    expect((await call(owner, '/im/group/transfer', { group_id: group.id, user_id: member!.user.id })).code).toBe(0);
    expect(await roles(group.id)).toMatchObject({ [owner.user.id]: 1, [member!.user.id]: 2 });
    expect((await call(member!, '/im/group/info', { group_id: group.id })).data.group.owner_id).toBe(member!.user.id);
    // The old owner cannot leave? They can now: they are an admin.
    expect((await call(owner, '/im/group/leave', { group_id: group.id })).code).toBe(0);
  });

  it('each change is a Cmd 31 event of the group stream: live and by sync to group-events sockets, nothing to others (no gap)', async () => {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const group = await groupOf(owner, [member]);
    const first = (await say(owner, group.id, 'before')).data;
    const modern = await device(member.token, ['group-events']);
    const legacy = await device(member.token);
    const s = (await say(owner, group.id, 'position')).data;
    await legacy.next((f) => f.Cmd === 10 && f.Seq === s.seq);
    await call(owner, '/im/group/mute', { group_id: group.id, user_id: member.user.id, seconds: 30 });
    const event = await modern.next((f) => f.Cmd === 31);
    expect(event).toMatchObject({ Cmd: 31, FromId: owner.user.id, ToId: group.id, Ope: 1, Body: 'mute', Target: member.user.id, Seq: s.seq + 1 });
    await call(owner, '/im/group/mute', { group_id: group.id, user_id: member.user.id, seconds: 0 });
    const after = (await say(owner, group.id, 'after')).data;
    expect((await legacy.next((f) => f.Cmd === 10 && f.Seq === after.seq, 150)).Body).toBe('after');
    await settle();
    expect(legacy.of(31)).toEqual([]);
    const synced = await device(member.token, ['group-events'], { [first.conversation_id]: first.seq });
    expect(synced.frames.filter((f) => f.Seq !== undefined).map((f) => [f.Cmd, f.Body, (f as { Value?: number }).Value === 0 ? 0 : 'until'])).toEqual([
      [10, 'position', 'until'], [31, 'mute', 'until'], [31, 'mute', 0], [10, 'after', 'until'],
    ]);
  });

  it('update: the owner or an admin renames the group and sets its notice; info shows it, search finds the new name, members get a Cmd 31 update', async () => {
    const owner = await registerUser(t.api);
    const [admin, member] = [await registerUser(t.api), await registerUser(t.api)];
    const group = await groupOf(owner, [admin!, member!]);
    await call(owner, '/im/group/admin/set', { group_id: group.id, user_id: admin!.user.id, admin: 1 });
    const watcher = await device(member!.token, ['group-events']);
    expect((await call(member!, '/im/group/update', { group_id: group.id, notice: 'x' })).status).toBe(403);
    expect((await call(admin!, '/im/group/update', { group_id: group.id, name: 'Hiking club', notice: 'Saturday 8:00 at the station' })).code).toBe(0);
    expect((await call(member!, '/im/group/info', { group_id: group.id })).data).toMatchObject({ group: { name: 'Hiking club' }, notice: 'Saturday 8:00 at the station', muted_all: false });
    expect(await watcher.next((f) => f.Cmd === 31)).toMatchObject({ FromId: admin!.user.id, ToId: group.id, Body: 'update', Target: 0, Value: 0 });
    const found = (await call(member!, '/im/group/search', { word: 'Hiking' })).data.list as Array<{ id: number }>;
    expect(found.map((g) => g.id)).toContain(group.id);
    for (const body of [{ group_id: group.id }, { group_id: group.id, name: '' }, { group_id: group.id, notice: 'x'.repeat(501) }, { group_id: group.id, name: 5 }]) {
      expect((await call(owner, '/im/group/update', body)).status, JSON.stringify(body)).toBe(400);
    }
  });

  it('dissolve: the owner only; members are told (Cmd 31), sends, joins and changes are refused, history stays readable, the group leaves search', async () => {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const group = await groupOf(owner, [member]);
    await call(owner, '/im/group/update', { group_id: group.id, name: 'Dissolving soon' });
    const before = (await say(member, group.id, 'last words')).data;
    expect((await call(member, '/im/group/search', { word: 'Dissolving' })).data.list.map((g: { id: number }) => g.id)).toContain(group.id);
    const watcher = await device(member.token, ['group-events']);
    expect((await call(member, '/im/group/dissolve', { group_id: group.id })).status).toBe(403);
    expect((await call(owner, '/im/group/dissolve', { group_id: group.id })).code).toBe(0);
    expect(await watcher.next((f) => f.Cmd === 31)).toMatchObject({ FromId: owner.user.id, ToId: group.id, Body: 'dissolve' });
    const refused = await say(member, group.id, 'anyone?');
    expect([refused.status, refused.msg]).toEqual([409, 'the group was dissolved']);
    const s = await device(owner.token);
    s.send({ Cmd: 17, ToId: group.id, Ope: 1, Type: 0, Body: 'x', ClientMsgId: 'dissolved-1' });
    expect(await s.next((f) => f.Cmd === 2)).toMatchObject({ Body: 'the group was dissolved', ClientMsgId: 'dissolved-1' });
    const history = (await call(member, '/im/chat/history', { group_id: group.id })).data.list;
    expect(history.map((m: { body: string }) => m.body)).toContain('last words');
    expect(history[0].seq).toBe(before.seq);
    expect((await call(member, '/im/group/info', { group_id: group.id })).data.dissolved).toBe(true);
    const stranger = await registerUser(t.api);
    expect((await call(stranger, '/im/group/join/request', { group_id: group.id })).reason).toBe('group_dissolved');
    expect((await call(owner, '/im/group/mute/all', { group_id: group.id, on: 1 })).reason).toBe('group_dissolved');
    expect((await call(member, '/im/group/search', { word: 'Dissolving' })).data.list.map((g: { id: number }) => g.id)).not.toContain(group.id);
  });

  it('malformed input is refused with 400', async () => {
    const owner = await registerUser(t.api);
    const group = await groupOf(owner, []);
    for (const [path, body] of [
      ['/im/group/admin/set', { group_id: group.id, user_id: owner.user.id, admin: 2 }],
      ['/im/group/admin/set', { group_id: group.id, user_id: null, admin: 1 }],
      ['/im/group/mute', { group_id: group.id, user_id: owner.user.id, seconds: -1 }],
      ['/im/group/mute', { group_id: group.id, user_id: owner.user.id, seconds: true }],
      ['/im/group/mute', { group_id: group.id, user_id: owner.user.id, seconds: 31_536_001 }],
      ['/im/group/mute/all', { group_id: group.id, on: 'yes' }],
      ['/im/group/transfer', { group_id: [group.id], user_id: 1 }],
    ] as const) {
      expect((await call(owner, path, body)).status, `${path} ${JSON.stringify(body)}`).toBe(400);
    }
  });
});
