import type { Db, Executor } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { Cmd } from '../../notify/cmd.js';
import { userEventFrame } from '../../notify/frames.js';
import type { Notifier } from '../../notify/notifier.js';
import type { IndexHook } from '../../search/index.js';
import { type Moderation, NO_MODERATION } from '../moderation/index.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import { recordUserEvent } from '../conversations/index.js';
import { friendPairsAmong } from '../friends/index.js';
import { toPublicUser } from '../users/index.js';
import { type GroupEvent, groupEventNotification, recordGroupEvent } from './group-events.js';
import {
  deleteMember, isDissolved, findGroup, groupSeq, groupsOfUser, insertGroup, insertMember, listMembers, lockGroup, managerIds, memberIds, memberRole, releasePlace, takePlace,
} from './groups.repo.js';
import { type Group, JoinMode, type JoinModeName, joinModeNames, JoinStatus, Role, roleNames, toGroup } from './groups.table.js';
import { closeJoinRequest, findJoinRequestByIdForUpdate, findJoinRequestForUpdate, insertJoinRequest, listPendingJoins, renewJoinRequest } from './join-requests.repo.js';

export interface GroupsOptions {
  /** Most members a group may have (join approvals past it are refused). */
  maxMembers: number;
  membersPageSize: number;
  /** New members see group history only from when they joined. */
  historyFromJoin: boolean;
}

const LIST_CAP = 5000;

/** Groups: creation, membership and join requests. Only owners approve and kick. */
export class GroupsService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly createLimit: RateLimiter,
    private readonly options: GroupsOptions,
    private readonly index: IndexHook,
    private readonly moderation: Moderation = NO_MODERATION,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(selfId: number, givenName: string, options: { joinMode?: JoinModeName; avatar?: string } = {}): Promise<Group> {
    const name = this.moderation.text('name', givenName);
    await this.createLimit.consume(String(selfId));
    const now = this.clock();
    const joinMode = options.joinMode ?? 'approval';
    const avatar = options.avatar ?? '';
    const id = await transact(this.db, async (trx) => {
      const groupId = await insertGroup(trx, { name, ownerId: selfId, now, joinMode: joinModeNames.indexOf(joinMode), avatar });
      await insertMember(trx, { groupId, userId: selfId, role: Role.Owner, now });
      await this.index.onChange(trx, { kind: 'group', id: groupId });
      await this.webhooks.record(trx, 'group.created', orderKey.group(groupId), { group_id: groupId, owner_id: selfId, name, join_mode: joinMode });
      return groupId;
    });
    return { id, name, owner_id: selfId, member_count: 1, created_at: now, avatar, join_mode: joinMode };
  }

  async info(groupId: number): Promise<Group> {
    const row = await findGroup(this.db, groupId);
    if (!row) throw new AppError('group_not_found');
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
    if ((await memberRole(this.db, groupId, selfId)) === undefined) throw new AppError('not_group_member');
    const size = this.options.membersPageSize;
    const rows = await listMembers(this.db, groupId, (page - 1) * size, size);
    return { list: rows.map((r) => ({ ...toPublicUser(r), role: roleNames[Number(r.role)] ?? 'member', joined_at: Number(r.joined_at) })), page };
  }

  /**
   * Asks to join. In an `approval` group the request waits, and the owner and admins are told
   * (Cmd 12, once while it is pending; a repeated request returns the same id). In an `open` group
   * it joins at once: the member's devices get Cmd 13 and the members a `join` event. An `invite`
   * group takes no requests (403).
   */
  async requestJoin(selfId: number, groupId: number, reason: string): Promise<{ join_id: number; joined: boolean }> {
    const now = this.clock();
    const outcome = await transact(
      this.db,
      async (trx) => {
        const group = await lockGroup(trx, groupId);
        if (!group) throw new AppError('group_not_found');
        if (await isDissolved(trx, groupId)) throw new AppError('group_dissolved');
        if ((await memberRole(trx, groupId, selfId)) !== undefined) throw new AppError('already_member');
        const mode = Number(group.join_mode);
        if (mode === JoinMode.Invite) throw new AppError('invite_only_group');
        const row = await findJoinRequestForUpdate(trx, groupId, selfId);
        if (mode === JoinMode.Approval && row && row.status === JoinStatus.Pending) return { id: Number(row.id), joined: false, events: [] };
        const id = row ? Number(row.id) : await insertJoinRequest(trx, { groupId, userId: selfId, reason, now });
        if (row) await renewJoinRequest(trx, row.id, reason, now);
        if (mode === JoinMode.Approval) {
          const managers = await managerIds(trx, groupId);
          const events = [];
          for (const manager of managers) events.push(await recordUserEvent(trx, manager, userEventFrame(Cmd.GroupJoinRequest, selfId, groupId, reason), now));
          return { id, joined: false, events };
        }
        await closeJoinRequest(trx, id, JoinStatus.Accepted, selfId, now);
        const joined = await this.admit(trx, groupId, selfId, selfId, 'join', now);
        return { id, joined: true, events: [joined.told], group: { event: joined.event, recipients: await memberIds(trx, groupId) } };
      },
      { retryOnUnique: true },
    );
    for (const event of outcome.events) this.notifier.notify(event);
    if (outcome.group) this.notifier.notify(groupEventNotification(outcome.group.event, outcome.group.recipients));
    return { join_id: outcome.id, joined: outcome.joined };
  }

  /**
   * A member adds friends of theirs to the group at once (in an `invite` group only the owner and
   * admins may): each gets Cmd 13 from the inviter, the members an `invite` event for each. Users
   * already in it are left out; all or none fit under `groups.max_members`. Answers who was added.
   */
  async invite(selfId: number, groupId: number, userIds: number[]): Promise<{ invited: number[] }> {
    const wanted = [...new Set(userIds)].filter((id) => id !== selfId);
    if (wanted.length === 0) throw new AppError('invite_self');
    const now = this.clock();
    const outcome = await transact(this.db, async (trx) => {
      const group = await lockGroup(trx, groupId);
      if (!group) throw new AppError('group_not_found');
      if (await isDissolved(trx, groupId)) throw new AppError('group_dissolved');
      const role = await memberRole(trx, groupId, selfId);
      if (role === undefined) throw new AppError('not_group_member');
      if (Number(group.join_mode) === JoinMode.Invite && role === Role.Member) throw new AppError('admins_only_invite');
      const friends = await friendPairsAmong(trx, wanted.map((id) => [selfId, id] as const));
      const strangers = wanted.filter((id) => !friends.has(`${selfId}:${id}`));
      if (strangers.length > 0) throw new AppError('invite_friends_only', { ids: strangers.join(',') });
      const told = [];
      const events: GroupEvent[] = [];
      const invited: number[] = [];
      for (const userId of wanted) {
        if ((await memberRole(trx, groupId, userId)) !== undefined) continue;
        const pending = await findJoinRequestForUpdate(trx, groupId, userId);
        if (pending && pending.status === JoinStatus.Pending) await closeJoinRequest(trx, pending.id, JoinStatus.Accepted, selfId, now);
        const admitted = await this.admit(trx, groupId, userId, selfId, 'invite', now);
        told.push(admitted.told);
        events.push(admitted.event);
        invited.push(userId);
      }
      return { told, events, invited, recipients: invited.length > 0 ? await memberIds(trx, groupId) : [] };
    });
    for (const event of outcome.told) this.notifier.notify(event);
    for (const event of outcome.events) this.notifier.notify(groupEventNotification(event, outcome.recipients));
    return { invited: outcome.invited };
  }

  /**
   * Makes `userId` a member inside the caller's transaction (which holds the group's lock): a place
   * under `groups.max_members` (409 past it), Cmd 13 to the new member from `byId`, and the group event.
   */
  private async admit(trx: Executor, groupId: number, userId: number, byId: number, kind: 'join' | 'invite', now: number) {
    if (!(await takePlace(trx, groupId, this.options.maxMembers, now))) throw new AppError('group_full');
    await insertMember(trx, { groupId, userId, now, joinedSeq: this.options.historyFromJoin ? await groupSeq(trx, groupId) : 0 });
    const told = await recordUserEvent(trx, userId, userEventFrame(Cmd.GroupJoinAccepted, byId, groupId), now);
    const event = await recordGroupEvent(trx, { groupId, actorId: byId, kind, userId, now });
    await this.webhooks.record(trx, 'group.joined', orderKey.group(groupId), { group_id: groupId, user_id: userId, by: byId, how: kind === 'invite' ? 'invite' : byId === userId ? 'open' : 'approved' });
    return { told, event };
  }

  async pendingJoins(selfId: number, groupId?: number) {
    if (groupId !== undefined) {
      await this.info(groupId);
      const role = await memberRole(this.db, groupId, selfId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('admins_only_see_requests');
    }
    const rows = await listPendingJoins(this.db, selfId, groupId, LIST_CAP);
    return rows.map((r) => ({ id: Number(r.join_id), group_id: Number(r.group_id), user: toPublicUser(r), reason: r.reason, created_at: Number(r.created_at) }));
  }

  /** The owner or an admin accepts (atomically, within the size cap; the members get a `join` event) or rejects a pending request. */
  async handleJoin(selfId: number, joinId: number, accept: boolean): Promise<void> {
    const now = this.clock();
    const outcome = await transact(this.db, async (trx) => {
      const request = await findJoinRequestByIdForUpdate(trx, joinId);
      if (!request) throw new AppError('join_request_not_found');
      const groupId = Number(request.group_id);
      const group = await lockGroup(trx, groupId);
      if (!group) throw new AppError('group_not_found');
      const role = await memberRole(trx, groupId, selfId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('admins_only_handle_requests');
      if (request.status !== JoinStatus.Pending) throw new AppError('join_request_handled');
      if (await isDissolved(trx, groupId)) throw new AppError('group_dissolved');
      const applicant = Number(request.user_id);
      await closeJoinRequest(trx, request.id, accept ? JoinStatus.Accepted : JoinStatus.Rejected, selfId, now);
      if (!accept) return undefined;
      if ((await memberRole(trx, groupId, applicant)) !== undefined) return { told: await recordUserEvent(trx, applicant, userEventFrame(Cmd.GroupJoinAccepted, selfId, groupId), now) };
      const admitted = await this.admit(trx, groupId, applicant, selfId, 'join', now);
      return { ...admitted, recipients: await memberIds(trx, groupId) };
    });
    if (!outcome) return;
    this.notifier.notify(outcome.told);
    if ('event' in outcome) this.notifier.notify(groupEventNotification(outcome.event, outcome.recipients));
  }

  /** A member leaves (the members left get a `leave` event); the owner cannot. */
  async leave(selfId: number, groupId: number): Promise<void> {
    await this.info(groupId);
    const now = this.clock();
    const outcome = await transact(this.db, async (trx) => {
      await lockGroup(trx, groupId);
      const role = await memberRole(trx, groupId, selfId);
      if (role === undefined) throw new AppError('not_group_member');
      if (role === Role.Owner) throw new AppError('owner_cannot_leave');
      await deleteMember(trx, groupId, selfId);
      await releasePlace(trx, groupId, now);
      await this.webhooks.record(trx, 'group.left', orderKey.group(groupId), { group_id: groupId, user_id: selfId });
      if (await isDissolved(trx, groupId)) return undefined;
      const event = await recordGroupEvent(trx, { groupId, actorId: selfId, kind: 'leave', userId: selfId, now });
      return { event, recipients: await memberIds(trx, groupId) };
    });
    if (outcome) this.notifier.notify(groupEventNotification(outcome.event, outcome.recipients));
  }

  /** The owner or an admin removes a member (not themself); the removed user is told (Cmd 14), the members left get a `kick` event. */
  async kick(selfId: number, groupId: number, userId: number): Promise<void> {
    if (userId === selfId) throw new AppError('remove_self');
    const now = this.clock();
    const outcome = await transact(this.db, async (trx) => {
      const group = await lockGroup(trx, groupId);
      if (!group) throw new AppError('group_not_found');
      const role = await memberRole(trx, groupId, selfId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('admins_only_remove');
      const target = await memberRole(trx, groupId, userId);
      if (target === undefined) throw new AppError('member_not_found');
      if (target === Role.Owner || (target === Role.Admin && role !== Role.Owner)) throw new AppError('admin_removes_members_only');
      await deleteMember(trx, groupId, userId);
      await releasePlace(trx, groupId, now);
      const told = await recordUserEvent(trx, userId, userEventFrame(Cmd.GroupKicked, selfId, groupId), now);
      await this.webhooks.record(trx, 'group.removed', orderKey.group(groupId), { group_id: groupId, user_id: userId, by: selfId });
      if (await isDissolved(trx, groupId)) return { told };
      return { told, event: await recordGroupEvent(trx, { groupId, actorId: selfId, kind: 'kick', userId, now }), recipients: await memberIds(trx, groupId) };
    });
    this.notifier.notify(outcome.told);
    if (outcome.event) this.notifier.notify(groupEventNotification(outcome.event, outcome.recipients ?? []));
  }
}
