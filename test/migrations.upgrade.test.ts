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

  it('0028 starts closed the conversations of pairs no longer friends; friends\' and groups\' stay open', async () => {
    const db = await openTestDatabase(dialect, { migrated: false });
    try {
      const migrator = new Migrator({ db: db.db, provider: { getMigrations: async () => migrations } });
      expect((await migrator.migrateTo('0027_users_sessions_valid_after')).error).toBeUndefined();
      // 1 and 2 are still friends; 3 and 4 were, and ended it; group 7 has a conversation too.
      await db.db.insertInto('friends').values([{ user_id: 1, friend_id: 2, created_at: 1 }, { user_id: 2, friend_id: 1, created_at: 1 }]).execute();
      await (db.db as any).insertInto('conversations').values([
        { conv_key: 'u:1:2', kind: 0, user_lo: 1, user_hi: 2, group_id: null, last_seq: 3, last_message_at: 1 },
        { conv_key: 'u:3:4', kind: 0, user_lo: 3, user_hi: 4, group_id: null, last_seq: 5, last_message_at: 1 },
        { conv_key: 'g:7', kind: 1, user_lo: null, user_hi: null, group_id: 7, last_seq: 2, last_message_at: 1 },
      ]).execute();
      await migrateToLatest(db.db, { info: () => {} });
      const rows = await db.db.selectFrom('conversations').select(['conv_key', 'closed', 'last_seq']).orderBy('conv_key').execute();
      expect(rows.map((r) => [r.conv_key, Number(r.closed), Number(r.last_seq)])).toEqual([['g:7', 0, 2], ['u:1:2', 0, 3], ['u:3:4', 1, 5]]);
    } finally {
      await db.close();
    }
  });
});
