import { randomBytes } from 'node:crypto';
import { Migrator } from 'kysely';
import { createConnection } from 'mysql2/promise';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrations } from '../migrations/index.js';
import { openDatabase, type DbHandle } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Dialect } from '../src/db/migration-kit.js';
import { SqlNearbyIndex } from '../src/search/nearby-index.sql.js';
import { createMysqlDatabase } from './setup/mariadb.js';
import { testDialects } from './helpers/database.js';

/** An empty database of the dialect (nothing migrated), dropped afterwards on MariaDB. */
async function emptyDatabase(dialect: Dialect, cleanups: Array<() => Promise<void>>): Promise<DbHandle> {
  if (dialect === 'sqlite') return openDatabase({ dialect: 'sqlite', location: ':memory:' });
  const adminUrl = inject('mysqlUrl')!;
  const name = `weim_up_${randomBytes(6).toString('hex')}`;
  const dbh = openDatabase({ dialect: 'mysql', location: await createMysqlDatabase(adminUrl, name) });
  cleanups.push(async () => {
    const admin = await createConnection({ uri: adminUrl });
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  });
  return dbh;
}

describe.each(testDialects())('upgrading a %s database that already has data', (dialect) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('0022 gives users who already reported a location their strip, and nearby finds them', async () => {
    const dbh = await emptyDatabase(dialect, cleanups);
    cleanups.push(() => dbh.close());
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
