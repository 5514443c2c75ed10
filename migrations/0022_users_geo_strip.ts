import { type Kysely, sql } from 'kysely';
import { dialectOf, dropIndex } from '../src/db/migration-kit.js';

/**
 * Nearby people by latitude strip: `geo_strip` is floor((latitude + 90) * 100), a 0.01° (~1.1 km)
 * band, kept by the database itself. A box becomes one short longitude range per strip of the
 * index (geo_strip, longitude, latitude, location_updated_at), where the index on latitude
 * first (0021) walked every user of the whole latitude band, at every longitude on Earth.
 * Stored on MySQL (an index on a stored column is the well-trodden path there); SQLite can only
 * add a virtual one, which its index stores all the same.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'mysql') {
    await db.schema.alterTable('users').addColumn('geo_strip', 'integer', (c) => c.generatedAlwaysAs(sql`floor((latitude + 90) * 100)`).stored()).execute();
  } else {
    // CAST truncates toward zero, which is floor here: latitude + 90 is never negative.
    await db.schema.alterTable('users').addColumn('geo_strip', 'integer', (c) => c.generatedAlwaysAs(sql`cast((latitude + 90) * 100 as integer)`)).execute();
  }
  await db.schema.createIndex('users_geo_strip_idx').on('users').columns(['geo_strip', 'longitude', 'latitude', 'location_updated_at']).execute();
  await dropIndex(db, 'users', 'users_location_idx');
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('users_location_idx').on('users').columns(['latitude', 'longitude', 'location_updated_at']).execute();
  await dropIndex(db, 'users', 'users_geo_strip_idx');
  await db.schema.alterTable('users').dropColumn('geo_strip').execute();
}

