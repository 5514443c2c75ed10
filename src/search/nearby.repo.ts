import type { Executor } from '../db/database.js';
import type { BoundingBox } from './geo.js';

export interface LocatedUser {
  id: number;
  latitude: number;
  longitude: number;
}

/** Strips are 0.01° of latitude: `users.geo_strip` is floor((latitude + 90) * 100) (migration 0022). */
const STRIPS_PER_DEGREE = 100;
const LAST_STRIP = 180 * STRIPS_PER_DEGREE;

/**
 * The strips a latitude range touches, one more on each side: the database computes a user's strip
 * in its own floating point, which may round a latitude on a boundary the other way. The exact
 * latitude bounds are checked as well, so the extra strips add index seeks, never wrong rows.
 */
export function stripsCovering(minLat: number, maxLat: number): number[] {
  const first = Math.max(0, Math.floor((minLat + 90) * STRIPS_PER_DEGREE) - 1);
  const last = Math.min(LAST_STRIP, Math.floor((maxLat + 90) * STRIPS_PER_DEGREE) + 1);
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/**
 * Users inside the box who reported their location at or after `since`, except `excludeId`. For
 * each latitude strip the box touches, an index range on longitude (index geo_strip, longitude,
 * latitude, location_updated_at, which covers the query with the row id).
 */
export async function usersInBox(db: Executor, box: BoundingBox, since: number, excludeId: number): Promise<LocatedUser[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'latitude', 'longitude'])
    .where('geo_strip', 'in', stripsCovering(box.minLat, box.maxLat))
    .where((eb) => eb.or(box.lonRanges.map(([west, east]) => eb.and([eb('longitude', '>=', west), eb('longitude', '<=', east)]))))
    .where('latitude', '>=', box.minLat)
    .where('latitude', '<=', box.maxLat)
    .where('location_updated_at', '>=', since)
    .where('id', '<>', excludeId)
    .execute();
  return rows.map((r) => ({ id: Number(r.id), latitude: Number(r.latitude), longitude: Number(r.longitude) }));
}
