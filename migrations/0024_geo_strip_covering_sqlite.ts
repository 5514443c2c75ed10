import { type Kysely, sql } from 'kysely';
import { dialectOf } from '../src/db/migration-kit.js';

/**
 * SQLite only: SQLite never reads an index as covering when the query names a VIRTUAL generated
 * column (checked on 3.53), so the nearby box query of 0022 read the users row of every candidate.
 * The index is rebuilt on the column's own expression, which the query then names, and also holds
 * what a page of nearby people shows (username, nickname, avatar, sex): one index range per strip
 * answers the whole page (`USING COVERING INDEX`), with no second statement for the users. The
 * column stays (it reads the same); MySQL keeps its stored column and index.
 */
export async function up(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'mysql') return;
  await db.schema.dropIndex('users_geo_strip_idx').execute();
  // The same expression as the column (0022) and as nearby.repo.ts's strip on SQLite: keep all three alike.
  await sql`create index users_geo_strip_idx on users (cast((latitude + 90) * 100 as integer), longitude, latitude, location_updated_at, username, nickname, avatar, sex)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  if (dialectOf(db) === 'mysql') return;
  await db.schema.dropIndex('users_geo_strip_idx').execute();
  await db.schema.createIndex('users_geo_strip_idx').on('users').columns(['geo_strip', 'longitude', 'latitude', 'location_updated_at']).execute();
}
