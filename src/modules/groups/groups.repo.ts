import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';
import { groupConversationKey } from '../conversations/index.js';
import { GROUP_COLUMNS, Role } from './groups.table.js';

const groupColumns = GROUP_COLUMNS.map((c) => `groups.${c}` as const);

export async function insertGroup(db: Executor, g: { name: string; ownerId: number; now: number; joinMode?: number; avatar?: string }): Promise<number> {
  const result = await db
    .insertInto('groups')
    .values({ name: g.name, owner_id: g.ownerId, member_count: 1, created_at: g.now, updated_at: g.now, join_mode: g.joinMode ?? 0, avatar: g.avatar ?? '' })
    .executeTakeFirstOrThrow();
  return Number(result.insertId);
}

export async function findGroup(db: Executor, id: number) {
  return db.selectFrom('groups').select(groupColumns).where('id', '=', id).executeTakeFirst();
}

export async function groupsOfUser(db: Executor, userId: number, limit: number) {
  return db
    .selectFrom('group_members')
    .innerJoin('groups', 'groups.id', 'group_members.group_id')
    .select(groupColumns)
    .where('group_members.user_id', '=', userId)
    .orderBy('groups.id')
    .limit(limit)
    .execute();
}

/** Takes one place if fewer than `cap` members; returns whether it did (atomic on both dialects). */
export async function takePlace(db: Executor, groupId: number, cap: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('groups')
    .set((eb) => ({ member_count: eb('member_count', '+', 1), updated_at: now }))
    .where('id', '=', groupId)
    .where('member_count', '<', cap)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

export async function releasePlace(db: Executor, groupId: number, now: number): Promise<void> {
  await db
    .updateTable('groups')
    .set((eb) => ({ member_count: eb('member_count', '-', 1), updated_at: now }))
    .where('id', '=', groupId)
    .where('member_count', '>', 0)
    .execute();
}

/** Why `userId` may not send in the group now: it was dissolved, or they are muted (or the group is, for members). */
export async function sendRefusal(db: Executor, groupId: number, userId: number, now: number): Promise<'dissolved' | 'muted' | undefined> {
  const row = await db
    .selectFrom('group_members as gm')
    .innerJoin('groups as g', 'g.id', 'gm.group_id')
    .select(['gm.role', 'gm.muted_until', 'g.muted_all', 'g.dissolved_at'])
    .where('gm.group_id', '=', groupId)
    .where('gm.user_id', '=', userId)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.dissolved_at !== null) return 'dissolved';
  return Number(row.muted_until) > now || (Number(row.muted_all) === 1 && Number(row.role) === Role.Member) ? 'muted' : undefined;
}

/** Whether the group was dissolved. */
export async function isDissolved(db: Executor, groupId: number): Promise<boolean> {
  const row = await db.selectFrom('groups').select('dissolved_at').where('id', '=', groupId).executeTakeFirst();
  return row !== undefined && row.dissolved_at !== null;
}

export async function memberRole(db: Executor, groupId: number, userId: number): Promise<number | undefined> {
  const row = await db.selectFrom('group_members').select('role').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
  return row === undefined ? undefined : Number(row.role);
}

export async function insertMember(db: Executor, m: { groupId: number; userId: number; role?: number; now: number; joinedSeq?: number }): Promise<void> {
  await db
    .insertInto('group_members')
    .values({ group_id: m.groupId, user_id: m.userId, role: m.role ?? Role.Member, joined_at: m.now, joined_seq: m.joinedSeq ?? 0 })
    .execute();
}

/** The group conversation's current seq (0 before its first message). */
export async function groupSeq(db: Executor, groupId: number): Promise<number> {
  const row = await db.selectFrom('conversations').select('last_seq').where('conv_key', '=', groupConversationKey(groupId)).executeTakeFirst();
  return Number(row?.last_seq ?? 0);
}

/** Returns whether a member row was removed. */
export async function deleteMember(db: Executor, groupId: number, userId: number): Promise<boolean> {
  const result = await db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function listMembers(db: Executor, groupId: number, offset: number, limit: number) {
  return db
    .selectFrom('group_members')
    .innerJoin('users', 'users.id', 'group_members.user_id')
    .select(['users.id', 'users.username', 'users.nickname', 'users.avatar', 'users.sex', 'group_members.role', 'group_members.joined_at'])
    .where('group_members.group_id', '=', groupId)
    .orderBy('group_members.role', 'desc')
    .orderBy('group_members.user_id')
    .offset(offset)
    .limit(limit)
    .execute();
}

/** Ids of every member (for group fan-out). */
export async function memberIds(db: Executor, groupId: number): Promise<number[]> {
  const rows = await db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).execute();
  return rows.map((r) => Number(r.user_id));
}

/** The owner and the admins (who handle join requests). */
export async function managerIds(db: Executor, groupId: number): Promise<number[]> {
  const rows = await db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('role', 'in', [Role.Owner, Role.Admin]).orderBy('role', 'desc').orderBy('user_id').execute();
  return rows.map((r) => Number(r.user_id));
}

/** Locks the group row on MySQL so membership changes of one group run one at a time. */
export async function lockGroup(db: Executor, groupId: number) {
  return forUpdate(db, db.selectFrom('groups').select(['id', 'owner_id', 'member_count', 'join_mode']).where('id', '=', groupId)).executeTakeFirst();
}
