import { Migrator } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations } from '../migrations/index.js';
import type { DbHandle } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { SqlNearbyIndex } from '../src/search/nearby-index.sql.js';
import { openTestDatabase, testDialects } from './helpers/database.js';

describe.each(testDialects())('upgrading a %s database that already has data', (dialect) => {
  let dbh: DbHandle | undefined;
  afterAll(async () => {
    await dbh?.close();
  });

  it('0022 gives users who already reported a location their strip, and nearby finds them', async () => {
    dbh = await openTestDatabase(dialect, { migrated: false });
    const migrator = new Migrator({ db: dbh.db, provider: { getMigrations: async () => migrations } });
    const before = await migrator.migrateTo('0021_users_location');
    expect(before.error).toBeUndefined();
    const now = Date.now();
    const places = [
      { latitude: 30.5728, longitude: 104.0668 },
      { latitude: 30.5801, longitude: 104.0712 },
      { latitude: -33.8688, longitude: 151.2093 },
      { latitude: 89.99, longitude: 0 },
    ];
    for (const [i, at] of places.entries()) {
      await (dbh.db as any)
        .insertInto('users')
        .values({ username: `old_${i}`, password_hash: 'x', nickname: `old ${i}`, created_at: now, updated_at: now, ...at, location_updated_at: now })
        .execute();
    }
    await migrateToLatest(dbh.db, { info: () => {} });
    const rows = await dbh.db.selectFrom('users').select(['username', 'latitude', 'geo_strip']).orderBy('id').execute();
    expect(rows.map((r) => Number(r.geo_strip))).toEqual(places.map((p) => Math.floor((p.latitude + 90) * 100)));
    const found = await new SqlNearbyIndex(dbh.db).nearbyUsers({ ...places[0]!, distanceKm: 5, since: now - 1000, excludeUserId: 0, page: { offset: 0, limit: 20 } });
    expect(found.map((u) => u.username)).toEqual(['old_0', 'old_1']);
  });
});
