import type { Db } from '../db/database.js';
import { boundingBox, distanceMetres } from './geo.js';
import { publicUsersByIds } from '../modules/users/index.js';
import type { NearbyIndex, NearbyQuery, NearbyUser } from './search-index.js';
import { usersInBox } from './nearby.repo.js';

/** The first radius tried; it grows until it holds a full page or reaches the asked distance. */
const FIRST_RADIUS_M = 1000;

/**
 * Nearby people by the database: bounding box first (an index range), then the exact
 * great-circle distance. The radius starts small and grows (from the density seen so far), so a
 * crowded city answers from a small box and an empty region takes a few cheap steps; once the
 * circle of radius r holds `offset + limit` users, the nearest of them are the nearest overall.
 */
export class SqlNearbyIndex implements NearbyIndex {
  constructor(private readonly db: Db) {}

  async nearbyUsers(query: NearbyQuery): Promise<NearbyUser[]> {
    const maxRadius = query.distanceKm * 1000;
    const needed = query.page.offset + query.page.limit;
    let radius = Math.min(FIRST_RADIUS_M, maxRadius);
    let found: Array<{ id: number; distance: number }>;
    for (;;) {
      const box = boundingBox(query.latitude, query.longitude, radius);
      const candidates = await usersInBox(this.db, box, query.since, query.excludeUserId);
      found = candidates
        .map((c) => ({ id: c.id, distance: distanceMetres(query.latitude, query.longitude, c.latitude, c.longitude) }))
        .filter((c) => c.distance <= radius);
      if (found.length >= needed || radius >= maxRadius) break;
      const estimate = radius * Math.sqrt(needed / Math.max(1, found.length)) * 1.2;
      radius = Math.min(maxRadius, Math.max(radius * 2, estimate));
    }
    found.sort((a, b) => a.distance - b.distance || a.id - b.id);
    const page = found.slice(query.page.offset, needed);
    const users = await publicUsersByIds(this.db, page.map((p) => p.id));
    const distances = new Map(page.map((p) => [p.id, Math.round(p.distance)]));
    return users.map((u) => ({ ...u, distance_m: distances.get(u.id)! }));
  }
}
