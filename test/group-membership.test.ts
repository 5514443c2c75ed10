import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { featuredSocket, settle, type TestSocket } from './helpers/ws.js';

type User = Awaited<ReturnType<typeof registerUser>>;

/**
 * How people join (join_mode approval / open / invite, /im/group/invite), the group's picture, and
 * membership changes as Cmd 31 events (join, invite, leave, kick) that group-events sockets get live
 * and by sync, while the owner and admins are told of requests (Cmd 12).
 */
describe.each(testDialects())('group membership on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_GROUPS_MAX_MEMBERS: '4' });
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
  const call = (u: User, path: string, body: Record<string, unknown>, form = false) => post(t.api, path, body, { token: u.token, form });
  const memberSet = async (groupId: number) =>
    (await t.dbh.db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).orderBy('user_id').execute()).map((r) => Number(r.user_id));
  const count = async (groupId: number) => Number((await t.dbh.db.selectFrom('groups').select('member_count').where('id', '=', groupId).executeTakeFirstOrThrow()).member_count);

  it('create and update carry join_mode and avatar; info, my and search show them; the update event carries the join mode', async () => {
    const owner = await registerUser(t.api);
    const created = await call(owner, '/im/group/create', { name: 'Open house', join_mode: 'open', avatar: '/uploads/a/b.png' });
    expect(created.data.group).toMatchObject({ name: 'Open house', join_mode: 'open', avatar: '/uploads/a/b.png', member_count: 1 });
    const groupId = created.data.group.id as number;
    const watcher = await device(owner.token, ['group-events']);
    expect((await call(owner, '/im/group/update', { group_id: groupId, join_mode: 'invite', avatar: 'https://cdn.example.com/g.png' })).code).toBe(0);
    expect(await watcher.next((f) => f.Cmd === 31)).toMatchObject({ Body: 'update', Value: 2, FromId: owner.user.id });
    expect((await call(owner, '/im/group/info', { group_id: groupId })).data.group).toMatchObject({ join_mode: 'invite', avatar: 'https://cdn.example.com/g.png' });
    expect((await call(owner, '/im/group/my', {})).data.list.find((g: { id: number }) => g.id === groupId)).toMatchObject({ join_mode: 'invite' });
    expect((await call(owner, '/im/group/search', { word: 'Open house' })).data.list.find((g: { id: number }) => g.id === groupId)).toMatchObject({ avatar: 'https://cdn.example.com/g.png' });
    // Refused, and nothing changed.
    for (const body of [
      { name: 'x', join_mode: 'closed' }, { name: 'x', join_mode: 1 }, { name: 'x', avatar: 'javascript:alert(1)' }, { name: 'x', avatar: `/${'a'.repeat(255)}` },
      { name: 'x', avatar: 'https://e.com/a b.png' }, { name: 'x', avatar: null }, { name: 'x', avatar: ['/a.png'] },
    ]) {
      expect((await call(owner, '/im/group/create', body)).status, JSON.stringify(body)).toBe(400);
      const { name: _, ...change } = body;
      expect((await call(owner, '/im/group/update', { group_id: groupId, ...change })).status, JSON.stringify(change)).toBe(400);
    }
    expect((await call(owner, '/im/group/info', { group_id: groupId })).data.group).toMatchObject({ join_mode: 'invite', avatar: 'https://cdn.example.com/g.png' });
    expect((await call(owner, '/im/group/create', { name: 'Plain' })).data.group).toMatchObject({ join_mode: 'approval', avatar: '' });
  });

  it('open: a request joins at once (Cmd 13 to the joiner\'s devices, a join event to the members), within groups.max_members', async () => {
    const owner = await registerUser(t.api);
    const groupId = (await call(owner, '/im/group/create', { name: 'Walk-in', join_mode: 'open' })).data.group.id as number;
    const watcher = await device(owner.token, ['group-events']);
    const legacy = await device(owner.token);
    const joiner = await registerUser(t.api);
    const joinerDevice = await device(joiner.token);
    const joined = await call(joiner, '/im/group/join/request', { group_id: groupId });
    expect(joined.data).toMatchObject({ joined: true });
    expect(await memberSet(groupId)).toContain(joiner.user.id);
    expect(await joinerDevice.next((f) => f.Cmd === 13)).toMatchObject({ FromId: joiner.user.id, ToId: groupId });
    expect(await watcher.next((f) => f.Cmd === 31)).toMatchObject({ Body: 'join', FromId: joiner.user.id, Target: joiner.user.id, ToId: groupId });
    // Nothing is left to approve; a second request is 409.
    expect((await call(owner, '/im/group/join/list', { group_id: groupId })).data.list).toEqual([]);
    expect((await call(joiner, '/im/group/join/request', { group_id: groupId })).status).toBe(409);
    // Full at 4: two more fit, the fifth is refused and changes nothing.
    for (let i = 0; i < 2; i++) expect((await call(await registerUser(t.api), '/im/group/join/request', { group_id: groupId })).data.joined).toBe(true);
    const late = await call(await registerUser(t.api), '/im/group/join/request', { group_id: groupId });
    expect([late.status, late.msg]).toEqual([409, 'group is full']);
    expect([await count(groupId), (await memberSet(groupId)).length]).toEqual([4, 4]);
    await settle();
    expect(legacy.of(31)).toEqual([]);
  });

  it('invite: members add friends (only the owner and admins in an invite group); strangers are refused and nothing changes; requests are refused', async () => {
    const { a: owner, b: friend } = await makeFriends(t.api);
    const { b: friend2 } = await makeFriends(t.api, owner);
    const stranger = await registerUser(t.api);
    const groupId = (await call(owner, '/im/group/create', { name: 'By invitation', join_mode: 'invite' })).data.group.id as number;
    const refused = await call(stranger, '/im/group/join/request', { group_id: groupId });
    expect([refused.status, refused.msg]).toEqual([403, 'this group takes members by invitation only']);
    const watcher = await device(owner.token, ['group-events']);
    const invitee = await device(friend.token);
    const mixed = await call(owner, '/im/group/invite', { group_id: groupId, user_ids: [friend.user.id, stranger.user.id] });
    expect([mixed.status, mixed.msg]).toEqual([403, `you can invite only your friends; not friends: ${stranger.user.id}`]);
    expect(await memberSet(groupId)).toEqual([owner.user.id]);
    // A form sends `12,34`; a member already in it is left out.
    const invited = await call(owner, '/im/group/invite', { group_id: groupId, user_ids: `${friend.user.id},${owner.user.id},${friend.user.id}` }, true);
    expect(invited.data).toEqual({ invited: [friend.user.id] });
    expect(await invitee.next((f) => f.Cmd === 13)).toMatchObject({ FromId: owner.user.id, ToId: groupId });
    expect(await watcher.next((f) => f.Cmd === 31)).toMatchObject({ Body: 'invite', FromId: owner.user.id, Target: friend.user.id });
    expect((await call(owner, '/im/group/invite', { group_id: groupId, user_ids: [friend.user.id] })).data).toEqual({ invited: [] });
    // A member of an invite group may not invite; in an approval group they may.
    const { b: friendOfFriend } = await makeFriends(t.api, friend);
    expect((await call(friend, '/im/group/invite', { group_id: groupId, user_ids: [friendOfFriend.user.id] })).status).toBe(403);
    await call(owner, '/im/group/update', { group_id: groupId, join_mode: 'approval' });
    expect((await call(friend, '/im/group/invite', { group_id: groupId, user_ids: [friendOfFriend.user.id] })).data).toEqual({ invited: [friendOfFriend.user.id] });
    // All or none within the cap (4): owner, friend, friendOfFriend + friend2 fit; then full.
    const { b: fifth } = await makeFriends(t.api, owner);
    const full = await call(owner, '/im/group/invite', { group_id: groupId, user_ids: [friend2.user.id, fifth.user.id] });
    expect([full.status, full.msg]).toEqual([409, 'group is full']);
    expect(await memberSet(groupId)).toEqual([owner.user.id, friend.user.id, friendOfFriend.user.id].sort((x, y) => x - y));
    expect(await count(groupId)).toBe(3);
    for (const body of [
      { group_id: groupId }, { group_id: groupId, user_ids: [] }, { group_id: groupId, user_ids: null }, { group_id: groupId, user_ids: true },
      { group_id: groupId, user_ids: '1,a' }, { group_id: groupId, user_ids: Array.from({ length: 51 }, (_, i) => i + 1) }, { group_id: groupId, user_ids: [owner.user.id] },
    ]) {
      expect((await call(owner, '/im/group/invite', body)).status, JSON.stringify(body)).toBe(400);
    }
    expect((await call(stranger, '/im/group/invite', { group_id: groupId, user_ids: [owner.user.id] })).status).toBe(403);
  });

  it('approval: the owner and the admins are told of a request (Cmd 12); join, leave and kick are events a reconnecting device syncs once', async () => {
    const owner = await registerUser(t.api);
    const [admin, applicant, other] = [await registerUser(t.api), await registerUser(t.api), await registerUser(t.api)];
    const groupId = (await call(owner, '/im/group/create', { name: 'Gatekept' })).data.group.id as number;
    const adminJoin = await call(admin!, '/im/group/join/request', { group_id: groupId });
    expect(adminJoin.data).toMatchObject({ joined: false });
    await call(owner, '/im/group/join/handle', { join_id: adminJoin.data.join_id, status: 1 });
    await call(owner, '/im/group/admin/set', { group_id: groupId, user_id: admin!.user.id, admin: 1 });
    const start = (await call(owner, '/im/chat/send/group', { group_id: groupId, type: 0, body: 'start' })).data;
    const adminDevice = await device(admin!.token);
    const ownerDevice = await device(owner.token);
    const request = await call(applicant!, '/im/group/join/request', { group_id: groupId, reason: 'let me in' });
    for (const d of [adminDevice, ownerDevice]) expect(await d.next((f) => f.Cmd === 12)).toMatchObject({ FromId: applicant!.user.id, ToId: groupId, Body: 'let me in' });
    expect((await call(admin!, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 })).code).toBe(0);
    const otherJoin = await call(other!, '/im/group/join/request', { group_id: groupId });
    await call(owner, '/im/group/join/handle', { join_id: otherJoin.data.join_id, status: 1 });
    expect((await call(applicant!, '/im/group/leave', { group_id: groupId })).code).toBe(0);
    expect((await call(admin!, '/im/group/shot', { group_id: groupId, user_id: other!.user.id })).code).toBe(0);
    const end = (await call(owner, '/im/chat/send/group', { group_id: groupId, type: 0, body: 'end' })).data;
    const synced = await device(owner.token, ['group-events'], { [start.conversation_id]: start.seq });
    const stream = synced.frames.filter((f) => f.Seq !== undefined && f.Cmd !== 21);
    expect(stream.map((f) => [f.Cmd, f.Body, f.FromId, (f as { Target?: number }).Target ?? null])).toEqual([
      [31, 'join', admin!.user.id, applicant!.user.id],
      [31, 'join', owner.user.id, other!.user.id],
      [31, 'leave', applicant!.user.id, applicant!.user.id],
      [31, 'kick', admin!.user.id, other!.user.id],
      [10, 'end', owner.user.id, null],
    ]);
    expect(stream.map((f) => f.Seq)).toEqual([start.seq + 1, start.seq + 2, start.seq + 3, start.seq + 4, end.seq]);
    // A device that declared nothing syncs the messages only, without a gap.
    const legacy = await device(owner.token, undefined, { [start.conversation_id]: start.seq });
    expect(legacy.frames.filter((f) => f.Seq !== undefined && f.Cmd !== 21).map((f) => [f.Cmd, f.Body])).toEqual([[10, 'end']]);
  });
});
