import type { Kysely } from 'kysely';

/**
 * Nearby people: a bounding box on (latitude, longitude) is an index range on latitude with the
 * longitude and report time checked inside the index (it covers the query, with the row id).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('users_location_idx').on('users').columns(['latitude', 'longitude', 'location_updated_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('users_location_idx').on('users').execute();
}
