import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import { dialectOf } from '../db/migration-kit.js';
import { type PublicUser, toPublicUser } from '../modules/users/index.js';
import type { BoundingBox } from './geo.js';

export interface LocatedUser {
  id: number;
  latitude: number;
  longitude: number;
  /** SQLite: what a page shows of the user, read from the same index entry. */
  user?: PublicUser;
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
 * The strip as the index holds it: the stored column on MySQL; on SQLite the column's expression,
 * which its index is built on (migration 0024), because SQLite does not read an index as covering
 * for a query that names a virtual column. SQLite's index also holds the columns a page shows, so
 * one statement answers the page there; on MariaDB a wider box query cost the server more than
 * the second statement for the page's 20 users.
 */
const SQLITE_STRIP = sql<number>`cast((latitude + 90) * 100 as integer)`;

/**
 * Users inside the box who reported their location at or after `since`, except `excludeId`. For
 * each latitude strip the box touches, an index range on longitude (index geo_strip, longitude,
 * latitude, location_updated_at, which covers the query with the row id).
 */
export async function usersInBox(db: Executor, box: BoundingBox, since: number, excludeId: number): Promise<LocatedUser[]> {
  const rows = await boxQuery(db, box, since, excludeId).execute();
  return rows.map((r) => ({
    id: Number(r.id), latitude: Number(r.latitude), longitude: Number(r.longitude),
    user: r.username === undefined ? undefined : toPublicUser({ id: r.id, username: r.username, nickname: r.nickname!, avatar: r.avatar!, sex: r.sex! }),
  }));
}

/** The statement of `usersInBox`, unexecuted (tests check its plan). */
export function boxQuery(db: Executor, box: BoundingBox, since: number, excludeId: number) {
  const mysql = dialectOf(db) === 'mysql';
  return db
    .selectFrom('users')
    .select(['id', 'latitude', 'longitude'])
    .$if(!mysql, (qb) => qb.select(['username', 'nickname', 'avatar', 'sex']))
    .where(mysql ? sql.ref('geo_strip') : SQLITE_STRIP, 'in', stripsCovering(box.minLat, box.maxLat))
    .where((eb) => eb.or(box.lonRanges.map(([west, east]) => eb.and([eb('longitude', '>=', west), eb('longitude', '<=', east)]))))
    .where('latitude', '>=', box.minLat)
    .where('latitude', '<=', box.maxLat)
    .where('location_updated_at', '>=', since)
    .where('id', '<>', excludeId);
}
