import type { Executor } from '../db/database.js';
import type { BoundingBox } from './geo.js';

export interface LocatedUser {
  id: number;
  latitude: number;
  longitude: number;
}

/**
 * Users inside the box who reported their location at or after `since`, except `excludeId`.
 * An index range on latitude; longitude and time are checked in the same (covering) index.
 */
export async function usersInBox(db: Executor, box: BoundingBox, since: number, excludeId: number): Promise<LocatedUser[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'latitude', 'longitude'])
    .where('latitude', '>=', box.minLat)
    .where('latitude', '<=', box.maxLat)
    .where((eb) => eb.or(box.lonRanges.map(([west, east]) => eb.and([eb('longitude', '>=', west), eb('longitude', '<=', east)]))))
    .where('location_updated_at', '>=', since)
    .where('id', '<>', excludeId)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), latitude: Number(r.latitude), longitude: Number(r.longitude) }));
}
