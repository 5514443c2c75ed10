import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import type { IndexHook, NearbyIndex, NearbyUser } from '../../search/index.js';
import { updateUser } from '../users/index.js';

export interface GeoOptions {
  /** Locations older than this many days are not shown. */
  windowDays: number;
  pageSize: number;
}

export interface NearbyRequest {
  longitude: number;
  latitude: number;
  distanceKm: number;
  page: number;
}

/** Nearby people: users report where they are (rate-limited) and find others close by. */
export class GeoService {
  constructor(
    private readonly db: Db,
    private readonly index: IndexHook,
    private readonly nearbyIndex: NearbyIndex,
    private readonly updateLimit: RateLimiter,
    private readonly options: GeoOptions,
    private readonly clock: () => number = Date.now,
  ) {}

  async updateLocation(selfId: number, longitude: number, latitude: number): Promise<void> {
    await this.updateLimit.consume(String(selfId));
    const now = this.clock();
    await transact(this.db, async (trx) => {
      if (!(await updateUser(trx, selfId, { longitude, latitude, location_updated_at: now, updated_at: now }))) {
        throw new AppError('user_not_found');
      }
      await this.index.onChange(trx, { kind: 'user', id: selfId });
    });
  }

  /** Others within the distance who reported a location within the window, nearest first. */
  async nearby(selfId: number, request: NearbyRequest): Promise<{ list: NearbyUser[]; page: number }> {
    const list = await this.nearbyIndex.nearbyUsers({
      longitude: request.longitude,
      latitude: request.latitude,
      distanceKm: request.distanceKm,
      since: this.clock() - this.options.windowDays * 86_400_000,
      excludeUserId: selfId,
      page: { offset: (request.page - 1) * this.options.pageSize, limit: this.options.pageSize },
    });
    return { list, page: request.page };
  }
}
