import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';
import { JoinStatus, Role } from './groups.table.js';

export async function findJoinRequestForUpdate(db: Executor, groupId: number, userId: number) {
  return forUpdate(db, db.selectFrom('group_join_requests').selectAll().where('group_id', '=', groupId).where('user_id', '=', userId)).executeTakeFirst();
}

export async function findJoinRequestByIdForUpdate(db: Executor, id: number) {
  return forUpdate(db, db.selectFrom('group_join_requests').selectAll().where('id', '=', id)).executeTakeFirst();
}

export async function insertJoinRequest(db: Executor, r: { groupId: number; userId: number; reason: string; now: number }): Promise<number> {
  const result = await db
    .insertInto('group_join_requests')
    .values({ group_id: r.groupId, user_id: r.userId, reason: r.reason, status: JoinStatus.Pending, created_at: r.now, updated_at: r.now })
    .executeTakeFirstOrThrow();
  return Number(result.insertId);
}

export async function renewJoinRequest(db: Executor, id: number, reason: string, now: number): Promise<void> {
  await db
    .updateTable('group_join_requests')
    .set({ reason, status: JoinStatus.Pending, handled_by: null, created_at: now, updated_at: now })
    .where('id', '=', id)
    .execute();
}

export async function closeJoinRequest(db: Executor, id: number, status: number, handledBy: number, now: number): Promise<void> {
  await db.updateTable('group_join_requests').set({ status, handled_by: handledBy, updated_at: now }).where('id', '=', id).execute();
}

/** Pending requests to groups `ownerId` owns (optionally one group), newest first. */
/** Pending requests to the groups `managerId` owns or administers (one of them with `groupId`). */
export async function listPendingJoins(db: Executor, managerId: number, groupId: number | undefined, limit: number) {
  let query = db
    .selectFrom('group_join_requests')
    .innerJoin('group_members as manager', (j) => j.onRef('manager.group_id', '=', 'group_join_requests.group_id').on('manager.user_id', '=', managerId).on('manager.role', 'in', [Role.Owner, Role.Admin]))
    .innerJoin('users', 'users.id', 'group_join_requests.user_id')
    .select([
      'group_join_requests.id as join_id', 'group_join_requests.group_id', 'group_join_requests.reason', 'group_join_requests.created_at',
      'users.id', 'users.username', 'users.nickname', 'users.avatar', 'users.sex',
    ])
    .where('group_join_requests.status', '=', JoinStatus.Pending);
  if (groupId !== undefined) query = query.where('group_join_requests.group_id', '=', groupId);
  return query.orderBy('group_join_requests.id', 'desc').limit(limit).execute();
}
