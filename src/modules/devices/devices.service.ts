import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { Platform } from './devices.table.js';

/** Most devices one user may register (the oldest goes when a new one comes past it). */
export const MAX_DEVICES = 10;

export interface Device {
  id: number;
  userId: number;
  platform: Platform;
  token: string;
}

/** A user's push tokens: registered by the app after sign-in, removed at sign-out or when a provider says they are gone. */
export class DevicesService {
  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Registers (or moves to this user) a token; past MAX_DEVICES the least recently registered of the user's goes. */
  async register(userId: number, platform: Platform, token: string): Promise<void> {
    const now = this.clock();
    await transact(
      this.db,
      async (trx) => {
        const found = await trx.selectFrom('devices').select('id').where('platform', '=', platform).where('token', '=', token).executeTakeFirst();
        if (found) await trx.updateTable('devices').set({ user_id: userId, updated_at: now }).where('id', '=', found.id).execute();
        else await trx.insertInto('devices').values({ user_id: userId, platform, token, created_at: now, updated_at: now }).execute();
        const mine = await trx.selectFrom('devices').select('id').where('user_id', '=', userId).orderBy('updated_at', 'desc').orderBy('id', 'desc').execute();
        const extra = mine.slice(MAX_DEVICES).map((d) => Number(d.id));
        if (extra.length > 0) await trx.deleteFrom('devices').where('id', 'in', extra).execute();
      },
      { retryOnUnique: true },
    );
  }

  /** Only the user's own token is removed; an unknown one is 404. */
  async unregister(userId: number, platform: Platform, token: string): Promise<void> {
    const result = await this.db.deleteFrom('devices').where('user_id', '=', userId).where('platform', '=', platform).where('token', '=', token).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new AppError('device_not_found');
  }

  async setPreviews(userId: number, previews: boolean): Promise<void> {
    await this.db.updateTable('users').set({ push_previews: previews ? 1 : 0, updated_at: this.clock() }).where('id', '=', userId).execute();
  }

  /** The devices of these users, with whether each user shows previews. */
  async devicesOf(userIds: readonly number[]): Promise<Array<Device & { previews: boolean }>> {
    if (userIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('devices')
      .innerJoin('users', 'users.id', 'devices.user_id')
      .select(['devices.id', 'devices.user_id', 'devices.platform', 'devices.token', 'users.push_previews'])
      .where('devices.user_id', 'in', [...userIds])
      .execute();
    return rows.map((r) => ({ id: Number(r.id), userId: Number(r.user_id), platform: r.platform as Platform, token: r.token, previews: Number(r.push_previews) === 1 }));
  }

  /** A provider said this token is no longer valid. */
  async forget(deviceId: number): Promise<void> {
    await this.db.deleteFrom('devices').where('id', '=', deviceId).execute();
  }
}
