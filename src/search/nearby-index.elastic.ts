import type { Client } from '@elastic/elasticsearch';
import type { Db } from '../db/database.js';
import { publicUsersByIds } from '../modules/users/index.js';
import type { NearbyIndex, NearbyQuery, NearbyUser } from './search-index.js';

/**
 * Nearby people by Elasticsearch: a `geo_distance` filter on the users index's `geo_point`,
 * sorted by arc distance in metres (then id); the sort value is the distance. The users index is
 * fed by the Elasticsearch search index's outbox (a location update is a user change).
 */
export class ElasticNearbyIndex implements NearbyIndex {
  constructor(
    private readonly db: Db,
    private readonly client: Client,
    private readonly usersIndex: string,
  ) {}

  async nearbyUsers(query: NearbyQuery): Promise<NearbyUser[]> {
    const point = { lat: query.latitude, lon: query.longitude };
    const response = await this.client.search({
      index: this.usersIndex,
      from: query.page.offset,
      size: query.page.limit,
      _source: false,
      query: {
        bool: {
          filter: [{ geo_distance: { distance: `${query.distanceKm}km`, location: point } }, { range: { location_updated_at: { gte: query.since } } }],
          must_not: [{ term: { id: query.excludeUserId } }],
        },
      },
      sort: [{ _geo_distance: { location: point, order: 'asc', unit: 'm', distance_type: 'arc' } }, { id: 'asc' }],
    });
    const hits = response.hits.hits.map((hit) => ({ id: Number(hit._id), distance: Number(hit.sort?.[0]) }));
    const distances = new Map(hits.map((h) => [h.id, Math.round(h.distance)]));
    const users = await publicUsersByIds(this.db, hits.map((h) => h.id));
    return users.map((u) => ({ ...u, distance_m: distances.get(u.id)! }));
  }
}
