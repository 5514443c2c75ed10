import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { Cmd, type Notifier, Ope } from '../../notify/notifier.js';
import type { IndexHook } from '../../search/index.js';
import { recordUserEvent } from '../conversations/index.js';
import { toPublicUser } from '../users/index.js';
import {
  deleteMember, isDissolved, findGroup, groupSeq, groupsOfUser, insertGroup, insertMember, listMembers, lockGroup, memberRole, releasePlace, takePlace,
} from './groups.repo.js';
import { type Group, JoinStatus, Role, roleNames, toGroup } from './groups.table.js';
import { closeJoinRequest, findJoinRequestByIdForUpdate, findJoinRequestForUpdate, insertJoinRequest, listPendingJoins, renewJoinRequest } from './join-requests.repo.js';

export interface GroupsOptions {
  /** Most members a group may have (join approvals past it are refused). */
  maxMembers: number;
  membersPageSize: number;
  /** New members see group history only from when they joined. */
  historyFromJoin: boolean;
}

const LIST_CAP = 5000;

function frame(cmd: number, from: number, groupId: number, body = '') {
  return { Cmd: cmd, FromId: from, ToId: groupId, Ope: Ope.Group, Type: 0, Body: body };
}

/** Groups: creation, membership and join requests. Only owners approve and kick. */
export class GroupsService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly createLimit: RateLimiter,
    private readonly options: GroupsOptions,
    private readonly index: IndexHook,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(selfId: number, name: string): Promise<Group> {
    await this.createLimit.consume(String(selfId));
    const now = this.clock();
    const id = await transact(this.db, async (trx) => {
      const groupId = await insertGroup(trx, { name, ownerId: selfId, now });
      await insertMember(trx, { groupId, userId: selfId, role: Role.Owner, now });
      await this.index.onChange(trx, { kind: 'group', id: groupId });
      return groupId;
    });
    return { id, name, owner_id: selfId, member_count: 1, created_at: now };
  }

  async info(groupId: number): Promise<Group> {
    const row = await findGroup(this.db, groupId);
    if (!row) throw new AppError('NOT_FOUND', 'group not found');
    return toGroup(row);
  }

  /** The group and its announcement, as /im/group/info answers: `{group, notice, muted_all}`. */
  async infoWithNotice(groupId: number): Promise<{ group: Group; notice: string; muted_all: boolean; dissolved: boolean }> {
    const group = await this.info(groupId);
    const row = await this.db.selectFrom('groups').select(['notice', 'muted_all', 'dissolved_at']).where('id', '=', groupId).executeTakeFirstOrThrow();
    return { group, notice: row.notice, muted_all: Number(row.muted_all) === 1, dissolved: row.dissolved_at !== null };
  }

  async mine(selfId: number): Promise<Group[]> {
    return (await groupsOfUser(this.db, selfId, LIST_CAP)).map(toGroup);
  }

  /** Members only; paged, owner first. */
  async members(selfId: number, groupId: number, page: number) {
    await this.info(groupId);
    if ((await memberRole(this.db, groupId, selfId)) === undefined) throw new AppError('FORBIDDEN', 'not a member of this group');
    const size = this.options.membersPageSize;
    const rows = await listMembers(this.db, groupId, (page - 1) * size, size);
    return { list: rows.map((r) => ({ ...toPublicUser(r), role: roleNames[Number(r.role)] ?? 'member', joined_at: Number(r.joined_at) })), page };
  }

  /** Asks to join; a repeated pending request returns the same id. The owner is told (Cmd 12). */
  async requestJoin(selfId: number, groupId: number, reason: string): Promise<{ join_id: number }> {
    const group = await this.info(groupId);
    if (await isDissolved(this.db, groupId)) throw new AppError('CONFLICT', 'the group was dissolved');
    if ((await memberRole(this.db, groupId, selfId)) !== undefined) throw new AppError('CONFLICT', 'already a member');
    const now = this.clock();
    const outcome = await transact(
      this.db,
      async (trx) => {
        const row = await findJoinRequestForUpdate(trx, groupId, selfId);
        if (row && row.status === JoinStatus.Pending) return { id: Number(row.id), event: undefined };
        const id = row ? Number(row.id) : await insertJoinRequest(trx, { groupId, userId: selfId, reason, now });
        if (row) await renewJoinRequest(trx, row.id, reason, now);
        return { id, event: await recordUserEvent(trx, group.owner_id, frame(Cmd.GroupJoinRequest, selfId, groupId, reason), now) };
      },
      { retryOnUnique: true },
    );
    if (outcome.event) this.notifier.notify(outcome.event);
    return { join_id: outcome.id };
  }

  async pendingJoins(selfId: number, groupId?: number) {
    if (groupId !== undefined) {
      await this.info(groupId);
      const role = await memberRole(this.db, groupId, selfId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('FORBIDDEN', 'only the owner and admins see join requests');
    }
    const rows = await listPendingJoins(this.db, selfId, groupId, LIST_CAP);
    return rows.map((r) => ({ id: Number(r.join_id), group_id: Number(r.group_id), user: toPublicUser(r), reason: r.reason, created_at: Number(r.created_at) }));
  }

  /** The owner accepts (atomically, within the size cap) or rejects a pending request. */
  async handleJoin(selfId: number, joinId: number, accept: boolean): Promise<void> {
    const now = this.clock();
    const event = await transact(this.db, async (trx) => {
      const request = await findJoinRequestByIdForUpdate(trx, joinId);
      if (!request) throw new AppError('NOT_FOUND', 'no such join request');
      const groupId = Number(request.group_id);
      const group = await lockGroup(trx, groupId);
      if (!group) throw new AppError('NOT_FOUND', 'group not found');
      const role = await memberRole(trx, groupId, selfId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('FORBIDDEN', 'only the owner and admins handle join requests');
      if (request.status !== JoinStatus.Pending) throw new AppError('CONFLICT', 'join request already handled');
      if (await isDissolved(trx, groupId)) throw new AppError('CONFLICT', 'the group was dissolved');
      const applicant = Number(request.user_id);
      await closeJoinRequest(trx, request.id, accept ? JoinStatus.Accepted : JoinStatus.Rejected, selfId, now);
      if (!accept) return undefined;
      if ((await memberRole(trx, groupId, applicant)) === undefined) {
        if (!(await takePlace(trx, groupId, this.options.maxMembers, now))) throw new AppError('CONFLICT', 'group is full');
        await insertMember(trx, { groupId, userId: applicant, now, joinedSeq: this.options.historyFromJoin ? await groupSeq(trx, groupId) : 0 });
      }
      return recordUserEvent(trx, applicant, frame(Cmd.GroupJoinAccepted, selfId, groupId), now);
    });
    if (event) this.notifier.notify(event);
  }

  /** A member leaves; the owner cannot. */
  async leave(selfId: number, groupId: number): Promise<void> {
    await this.info(groupId);
    await transact(this.db, async (trx) => {
      await lockGroup(trx, groupId);
      const role = await memberRole(trx, groupId, selfId);
      if (role === undefined) throw new AppError('FORBIDDEN', 'not a member of this group');
      if (role === Role.Owner) throw new AppError('CONFLICT', 'the owner cannot leave the group');
      await deleteMember(trx, groupId, selfId);
      await releasePlace(trx, groupId, this.clock());
    });
  }

  /** The owner removes a member (not themself); the removed user is told (Cmd 14). */
  async kick(selfId: number, groupId: number, userId: number): Promise<void> {
    if (userId === selfId) throw new AppError('BAD_REQUEST', 'cannot remove yourself');
    const now = this.clock();
    const event = await transact(this.db, async (trx) => {
      const group = await lockGroup(trx, groupId);
      if (!group) throw new AppError('NOT_FOUND', 'group not found');
      const role = await memberRole(trx, groupId, selfId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('FORBIDDEN', 'only the owner and admins remove members');
      const target = await memberRole(trx, groupId, userId);
      if (target === undefined) throw new AppError('NOT_FOUND', 'not a member of this group');
      if (target === Role.Owner || (target === Role.Admin && role !== Role.Owner)) throw new AppError('FORBIDDEN', 'admins remove members only');
      await deleteMember(trx, groupId, userId);
      await releasePlace(trx, groupId, now);
      return recordUserEvent(trx, userId, frame(Cmd.GroupKicked, selfId, groupId), now);
    });
    this.notifier.notify(event);
  }
}
