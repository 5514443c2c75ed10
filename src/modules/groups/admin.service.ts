import type { Db, Executor } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { Notifier } from '../../notify/notifier.js';
import { type GroupEventKind, groupEventNotification, recordGroupEvent } from './group-events.js';
import { isDissolved, lockGroup, memberIds, memberRole } from './groups.repo.js';
import type { IndexHook } from '../../search/index.js';
import { type Moderation, NO_MODERATION } from '../moderation/index.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import { Role } from './groups.table.js';

/** The actor id of the operator's own actions (the admin API). */
const OPERATOR = 0;

/**
 * What the owner and admins do to a group: name admins (the owner, at most `maxAdmins`), mute a
 * member or everyone but themselves, hand the group over (the owner). Each is an event of the group
 * conversation's stream at a seq of its own (`group_events`), pushed as Cmd 31 to the members'
 * sockets that declared `group-events` and replayed by sync; the others' streams pass it unseen.
 * Admins act on members only, never on the owner or other admins.
 */
export class GroupAdminService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly options: { maxAdmins: number },
    private readonly index: IndexHook,
    private readonly moderation: Moderation = NO_MODERATION,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * The owner dissolves the group: it takes no more messages, joins or changes and leaves search;
   * members keep their membership, so they read its history up to the dissolve, and are told (Cmd 31).
   */
  async dissolve(actorId: number, groupId: number): Promise<void> {
    await this.act(actorId, groupId, 'dissolve', undefined, async (trx, actorRole) => {
      if (actorRole !== Role.Owner) throw new AppError('owner_only_dissolve');
      return this.markDissolved(trx, groupId, actorId);
    });
  }

  /** The operator (admin API) dissolves the group; the event's FromId is 0. `inTransaction` runs in its transaction (the audit row). */
  async dissolveAsOperator(groupId: number, inTransaction: (trx: Executor) => Promise<void>): Promise<void> {
    await this.act(OPERATOR, groupId, 'dissolve', undefined, async (trx) => {
      await inTransaction(trx);
      return this.markDissolved(trx, groupId, OPERATOR);
    });
  }

  private async markDissolved(trx: Executor, groupId: number, actorId: number): Promise<number> {
    await trx.updateTable('groups').set({ dissolved_at: this.clock(), updated_at: this.clock() }).where('id', '=', groupId).execute();
    await this.index.onChange(trx, { kind: 'group', id: groupId });
    await this.webhooks.record(trx, 'group.dissolved', orderKey.group(groupId), { group_id: groupId, by: actorId });
    return 0;
  }

  /**
   * The owner or an admin renames the group, sets its announcement (notice), picture or join mode.
   * The event's Value is the join mode after it (JoinMode), so a client knows whether to show "join"
   * or "ask to join" without asking.
   */
  async update(actorId: number, groupId: number, given: { name?: string; notice?: string; avatar?: string; join_mode?: number }): Promise<void> {
    const change = { ...given };
    if (change.name !== undefined) change.name = this.moderation.text('name', change.name);
    if (change.notice !== undefined) change.notice = this.moderation.text('notice', change.notice);
    await this.act(actorId, groupId, 'update', undefined, async (trx, actorRole) => {
      if (actorRole === Role.Member) throw new AppError('admins_only_update');
      await trx.updateTable('groups').set({ ...change, updated_at: this.clock() }).where('id', '=', groupId).execute();
      // A new name is searched by (the search index follows in the same transaction).
      if (change.name !== undefined) await this.index.onChange(trx, { kind: 'group', id: groupId });
      const row = await trx.selectFrom('groups').select('join_mode').where('id', '=', groupId).executeTakeFirstOrThrow();
      return Number(row.join_mode);
    });
  }

  async setAdmin(actorId: number, groupId: number, userId: number, admin: boolean): Promise<void> {
    await this.act(actorId, groupId, 'admin', userId, async (trx, actorRole, targetRole) => {
      if (actorRole !== Role.Owner) throw new AppError('owner_only_admins');
      if (targetRole === Role.Owner) throw new AppError('owner_not_admin');
      if ((targetRole === Role.Admin) === admin) return undefined;
      if (admin) {
        const { n } = await trx.selectFrom('group_members').select((eb) => eb.fn.countAll<number>().as('n')).where('group_id', '=', groupId).where('role', '=', Role.Admin).executeTakeFirstOrThrow();
        if (Number(n) >= this.options.maxAdmins) throw new AppError('too_many_admins', { max: this.options.maxAdmins });
      }
      await trx.updateTable('group_members').set({ role: admin ? Role.Admin : Role.Member }).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
      return admin ? 1 : 0;
    });
  }

  /** Mutes `userId` for `seconds` (0 lifts it). */
  async mute(actorId: number, groupId: number, userId: number, seconds: number): Promise<{ muted_until: number }> {
    const until = seconds === 0 ? 0 : this.clock() + seconds * 1000;
    await this.act(actorId, groupId, 'mute', userId, async (trx, actorRole, targetRole) => {
      if (actorRole === Role.Member) throw new AppError('admins_only_mute_members');
      if (userId === actorId) throw new AppError('mute_self');
      if (targetRole === Role.Owner || (targetRole === Role.Admin && actorRole !== Role.Owner)) throw new AppError('admin_mutes_members_only');
      await trx.updateTable('group_members').set({ muted_until: until }).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
      return until;
    });
    return { muted_until: until };
  }

  async muteAll(actorId: number, groupId: number, on: boolean): Promise<void> {
    await this.act(actorId, groupId, 'mute_all', undefined, async (trx, actorRole) => {
      if (actorRole === Role.Member) throw new AppError('admins_only_mute_group');
      await trx.updateTable('groups').set({ muted_all: on ? 1 : 0, updated_at: this.clock() }).where('id', '=', groupId).execute();
      return on ? 1 : 0;
    });
  }

  /** The owner hands the group to a member, and becomes an admin. */
  async transfer(actorId: number, groupId: number, userId: number): Promise<void> {
    await this.act(actorId, groupId, 'transfer', userId, async (trx, actorRole) => {
      if (actorRole !== Role.Owner) throw new AppError('owner_only_transfer');
      if (userId === actorId) throw new AppError('already_owner');
      await trx.updateTable('group_members').set({ role: Role.Owner, muted_until: 0 }).where('group_id', '=', groupId).where('user_id', '=', userId).execute();
      await trx.updateTable('group_members').set({ role: Role.Admin }).where('group_id', '=', groupId).where('user_id', '=', actorId).execute();
      await trx.updateTable('groups').set({ owner_id: userId, updated_at: this.clock() }).where('id', '=', groupId).execute();
      return 0;
    });
  }

  /**
   * Runs one administration step in a transaction holding the group's lock: checks the actor (and
   * the target) are members, lets `change` check roles and write (undefined: nothing changed, no
   * event), then records the event at the group conversation's next seq and tells the members.
   */
  private async act(
    actorId: number,
    groupId: number,
    kind: GroupEventKind,
    userId: number | undefined,
    change: (trx: Executor, actorRole: number, targetRole: number | undefined) => Promise<number | undefined>,
  ): Promise<void> {
    const now = this.clock();
    let recipients: number[] = [];
    const event = await transact(this.db, async (trx) => {
      if (!(await lockGroup(trx, groupId))) throw new AppError('group_not_found');
      if (await isDissolved(trx, groupId)) throw new AppError('group_dissolved');
      const actorRole = actorId === OPERATOR ? Role.Owner : await memberRole(trx, groupId, actorId);
      if (actorRole === undefined) throw new AppError('not_group_member');
      const targetRole = userId === undefined ? undefined : await memberRole(trx, groupId, userId);
      if (userId !== undefined && targetRole === undefined) throw new AppError('member_not_found');
      const value = await change(trx, actorRole, targetRole);
      if (value === undefined) return undefined;
      const event = await recordGroupEvent(trx, { groupId, actorId, kind, userId, value, now });
      recipients = await memberIds(trx, groupId);
      return event;
    });
    if (event) this.notifier.notify(groupEventNotification(event, recipients));
  }
}
