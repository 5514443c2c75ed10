import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

describe.each(testDialects())('groups API on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_GROUPS_MAX_MEMBERS: '11', WEIM_GROUPS_MEMBERS_PAGE_SIZE: '3' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  const framesTo = (userId: number, cmd: number) => t.node.recorder!.recent.filter((n) => n.userIds.includes(userId) && n.frame.Cmd === cmd);
  const members = (groupId: number) => t.dbh.db.selectFrom('group_members').selectAll().where('group_id', '=', groupId).orderBy('user_id').execute();
  const countOf = async (groupId: number) =>
    Number((await t.dbh.db.selectFrom('groups').select('member_count').where('id', '=', groupId).executeTakeFirstOrThrow()).member_count);

  async function groupWithMember() {
    const owner = await registerUser(t.api);
    const member = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: '周末 hiking' }, { token: owner.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: member.token });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    return { owner, member, group };
  }

  it('create → info → my; the owner is a member with role owner', async () => {
    const owner = await registerUser(t.api);
    const created = await post(t.api, '/im/group/create', { name: ' 读书会 ' }, { token: owner.token, form: true });
    expect(created.data.group).toEqual({ id: expect.any(Number), name: '读书会', owner_id: owner.user.id, member_count: 1, created_at: expect.any(Number), avatar: '', join_mode: 'approval' });
    const id = created.data.group.id;
    expect((await post(t.api, '/im/group/info', { group_id: id }, { token: owner.token })).data.group).toEqual(created.data.group);
    expect((await post(t.api, '/im/group/my', {}, { token: owner.token })).data.list).toEqual([created.data.group]);
    expect(await members(id)).toEqual([{ group_id: id, user_id: owner.user.id, role: 2, joined_at: expect.any(Number), joined_seq: 0, muted_until: 0 }]);
    for (const name of ['', 'x'.repeat(31)]) {
      const bad = await post(t.api, '/im/group/create', { name }, { token: owner.token });
      expect([bad.status, bad.code]).toEqual([400, 1000]);
    }
    const missing = await post(t.api, '/im/group/info', { group_id: 999_999 }, { token: owner.token });
    expect([missing.status, missing.code]).toEqual([404, 1002]);
  });

  it('join request → Cmd 12 to owner → join/list → accept → member, Cmd 13 to applicant', async () => {
    const owner = await registerUser(t.api);
    const user = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'g1' }, { token: owner.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id, reason: 'let me in' }, { token: user.token, form: true });
    expect(join.data.join_id).toEqual(expect.any(Number));
    expect(framesTo(owner.user.id, 12).at(-1)?.frame).toEqual({ Cmd: 12, FromId: user.user.id, ToId: group.id, Ope: 1, Type: 0, Body: 'let me in', EventSeq: 1, Time: expect.any(Number) });
    const again = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: user.token });
    expect(again.data.join_id).toBe(join.data.join_id);
    expect(framesTo(owner.user.id, 12)).toHaveLength(1);
    const list = await post(t.api, '/im/group/join/list', {}, { token: owner.token });
    expect(list.data.list).toEqual([{ id: join.data.join_id, group_id: group.id, user: user.user, reason: 'let me in', created_at: expect.any(Number) }]);
    expect((await post(t.api, '/im/group/join/list', { group_id: group.id }, { token: owner.token })).data.list).toHaveLength(1);
    const handled = await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token, form: true });
    expect(handled.code).toBe(0);
    expect(framesTo(user.user.id, 13).at(-1)?.frame).toMatchObject({ Cmd: 13, FromId: owner.user.id, ToId: group.id, Ope: 1 });
    expect((await members(group.id)).map((m) => m.user_id)).toEqual([owner.user.id, user.user.id].sort((a, b) => a - b));
    expect(await countOf(group.id)).toBe(2);
    expect((await post(t.api, '/im/group/join/list', {}, { token: owner.token })).data.list).toEqual([]);
    const twice = await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    expect([twice.status, twice.code]).toEqual([409, 1000]);
    const member = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: user.token });
    expect([member.status, member.code]).toEqual([409, 1000]);
  });

  it('reject (status 0 or -1) adds nobody', async () => {
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'g2' }, { token: owner.token })).data.group;
    for (const status of [0, -1]) {
      const user = await registerUser(t.api);
      const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: user.token });
      expect((await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status }, { token: owner.token })).code).toBe(0);
      expect(framesTo(user.user.id, 13)).toHaveLength(0);
    }
    expect(await members(group.id)).toHaveLength(1);
    expect(await countOf(group.id)).toBe(1);
  });

  it('only the owner sees and handles join requests', async () => {
    const { owner, member, group } = await groupWithMember();
    const applicant = await registerUser(t.api);
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: applicant.token });
    const byMember = await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: member.token });
    expect([byMember.status, byMember.code]).toEqual([403, 1003]);
    const listByMember = await post(t.api, '/im/group/join/list', { group_id: group.id }, { token: member.token });
    expect([listByMember.status, listByMember.code]).toEqual([403, 1003]);
    expect((await post(t.api, '/im/group/join/list', {}, { token: member.token })).data.list).toEqual([]);
    expect(await members(group.id)).toHaveLength(2);
    expect(owner.user.id).toBe(group.owner_id);
  });

  it('members: members only, paged, owner first with roles', async () => {
    const { owner, member, group } = await groupWithMember();
    for (let i = 0; i < 3; i++) {
      const u = await registerUser(t.api);
      const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
      await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    }
    const page1 = await post(t.api, '/im/group/members', { group_id: group.id }, { token: member.token, form: true });
    expect(page1.data.page).toBe(1);
    expect(page1.data.list).toHaveLength(3);
    expect(page1.data.list[0]).toEqual({ ...owner.user, role: 'owner', joined_at: expect.any(Number) });
    expect(page1.data.list[1].role).toBe('member');
    const page2 = await post(t.api, '/im/group/members', { group_id: group.id, page: 2 }, { token: member.token });
    expect(page2.data.list).toHaveLength(2);
    const ids = [...page1.data.list, ...page2.data.list].map((u: { id: number }) => u.id);
    expect(new Set(ids).size).toBe(5);
    const outsider = await registerUser(t.api);
    const refused = await post(t.api, '/im/group/members', { group_id: group.id }, { token: outsider.token });
    expect([refused.status, refused.code]).toEqual([403, 1003]);
  });

  it('leave: members can, the owner cannot, strangers are refused', async () => {
    const { owner, member, group } = await groupWithMember();
    const ownerLeaves = await post(t.api, '/im/group/leave', { group_id: group.id }, { token: owner.token });
    expect([ownerLeaves.status, ownerLeaves.code]).toEqual([409, 1000]);
    expect((await post(t.api, '/im/group/leave', { group_id: group.id }, { token: member.token, form: true })).code).toBe(0);
    expect((await members(group.id)).map((m) => m.user_id)).toEqual([owner.user.id]);
    expect(await countOf(group.id)).toBe(1);
    const again = await post(t.api, '/im/group/leave', { group_id: group.id }, { token: member.token });
    expect([again.status, again.code]).toEqual([403, 1003]);
    expect((await post(t.api, '/im/group/my', {}, { token: member.token })).data.list).toEqual([]);
  });

  it('shot: only the owner, not self, only members; Cmd 14 to the removed user', async () => {
    const { owner, member, group } = await groupWithMember();
    const other = await registerUser(t.api);
    const byMember = await post(t.api, '/im/group/shot', { group_id: group.id, user_id: owner.user.id }, { token: member.token });
    expect([byMember.status, byMember.code]).toEqual([403, 1003]);
    const self = await post(t.api, '/im/group/shot', { group_id: group.id, user_id: owner.user.id }, { token: owner.token });
    expect([self.status, self.code]).toEqual([400, 1000]);
    const stranger = await post(t.api, '/im/group/shot', { group_id: group.id, user_id: other.user.id }, { token: owner.token });
    expect([stranger.status, stranger.code]).toEqual([404, 1002]);
    expect(await members(group.id)).toHaveLength(2);
    const kicked = await post(t.api, '/im/group/shot', { group_id: group.id, user_id: member.user.id }, { token: owner.token, form: true });
    expect(kicked.code).toBe(0);
    expect(framesTo(member.user.id, 14).at(-1)?.frame).toMatchObject({ Cmd: 14, FromId: owner.user.id, ToId: group.id });
    expect((await members(group.id)).map((m) => m.user_id)).toEqual([owner.user.id]);
    expect(await countOf(group.id)).toBe(1);
  });

  it('a full group refuses further approvals', async () => {
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'small' }, { token: owner.token })).data.group;
    await t.dbh.db.updateTable('groups').set({ member_count: 11 }).where('id', '=', group.id).execute();
    const user = await registerUser(t.api);
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: user.token });
    const full = await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    expect([full.status, full.code, full.msg]).toEqual([409, 1000, 'group is full']);
    expect(await members(group.id)).toHaveLength(1);
    expect((await post(t.api, '/im/group/join/list', {}, { token: owner.token })).data.list).toHaveLength(1);
  });

  it('20 parallel accepts of distinct requests with 10 free places admit exactly 10', async () => {
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'race' }, { token: owner.token })).data.group;
    const joins: number[] = [];
    for (let i = 0; i < 20; i++) {
      const u = await registerUser(t.api);
      joins.push((await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token })).data.join_id);
    }
    const results = await Promise.all(joins.map((join_id) => post(t.api, '/im/group/join/handle', { join_id, status: 1 }, { token: owner.token })));
    expect(results.filter((r) => r.code === 0)).toHaveLength(10);
    expect(results.filter((r) => r.code === 1000 && r.msg === 'group is full')).toHaveLength(10);
    expect(await members(group.id)).toHaveLength(11);
    expect(await countOf(group.id)).toBe(11);
  });
});
