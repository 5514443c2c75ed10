import type { Db, Executor } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError, isUniqueViolation } from '../../errors.js';
import type { IndexHook } from '../../search/index.js';
import { type Moderation, NO_MODERATION } from '../moderation/index.js';
import { checkIdCard, hashIdCard, maskIdCard } from './id-card.js';
import { findUserById, setRealName, updateUser } from './users.repo.js';
import { type PublicUser, type SelfUser, toPublicUser, toSelfUser } from './users.table.js';

/** Profile reads and edits. */
export class UsersService {
  constructor(
    private readonly db: Db,
    private readonly idCardSecret: string,
    private readonly index: IndexHook,
    private readonly moderation: Moderation = NO_MODERATION,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Self when `userId` is absent or equal to `selfId` (with private fields), else the public shape. */
  async info(selfId: number, userId?: number): Promise<SelfUser | PublicUser> {
    const id = userId ?? selfId;
    const row = await findUserById(this.db, id);
    if (!row) throw new AppError('user_not_found');
    return id === selfId ? toSelfUser(row) : toPublicUser(row);
  }

  async updateNickname(selfId: number, given: string): Promise<SelfUser> {
    const nickname = this.moderation.text('nickname', given);
    const updated = await transact(this.db, async (trx) => {
      if (!(await updateUser(trx, selfId, { nickname, updated_at: this.clock() }))) return false;
      await this.index.onChange(trx, { kind: 'user', id: selfId });
      return true;
    });
    if (!updated) throw new AppError('user_not_found');
    return this.self(selfId);
  }

  /** Sets the avatar URL (stored by the attachments module); `db` may be the caller's transaction. */
  async updateAvatar(selfId: number, url: string, db: Executor = this.db): Promise<SelfUser> {
    if (!(await updateUser(db, selfId, { avatar: url, updated_at: this.clock() }))) throw new AppError('user_not_found');
    return this.self(selfId, db);
  }

  /** Verifies a real name once: the ID number is checked, its HMAC and masked form stored, sex derived. */
  async updateRealName(selfId: number, realName: string, idCard: string): Promise<SelfUser> {
    const check = checkIdCard(idCard, new Date(this.clock()));
    if (!check.ok) throw new AppError(check.reason);
    const now = this.clock();
    let updated: boolean;
    try {
      updated = await setRealName(this.db, selfId, {
        real_name: realName,
        id_card_hmac: hashIdCard(check.facts.number, this.idCardSecret),
        id_card_masked: maskIdCard(check.facts.number),
        sex: check.facts.sex,
        realname_verified_at: now,
        updated_at: now,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new AppError('id_card_taken');
      throw err;
    }
    if (!updated) throw new AppError('already_verified');
    return this.self(selfId);
  }

  private async self(id: number, db: Executor = this.db): Promise<SelfUser> {
    const row = await findUserById(db, id);
    if (!row) throw new AppError('user_not_found');
    return toSelfUser(row);
  }
}
