import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { executeRows } from '../src/db/prepared.js';
import { shapedQuery } from '../src/db/shaped-query.js';
import { nearestInCircle, nearestQuery } from '../src/search/nearby.repo.js';
import { distanceMetres } from '../src/search/geo.js';
import { openTestDatabase, testDialects } from './helpers/database.js';

describe.each(testDialects())('shaped queries on %s', (dialect) => {
  let dbh: DbHandle;
  const now = Date.now();

  beforeAll(async () => {
    dbh = await openTestDatabase(dialect);
    const users = Array.from({ length: 400 }, (_, i) => ({
      username: `shape_${i}`, nickname: `shape ${i}`, password_hash: 'x', created_at: now, updated_at: now,
      latitude: 31 + (i % 20) * 0.01, longitude: 121 + Math.floor(i / 20) * 0.01, location_updated_at: now - (i % 3) * 1000,
    }));
    await dbh.db.insertInto('users').values(users).execute();
  });

  afterAll(async () => {
    await dbh?.close();
  });

  /** A builder whose text depends on the length of `ids` only. */
  const byIds = (p: { ids: number[]; pattern: string; limit: number }) =>
    dbh.db.selectFrom('users').select(['id', 'username']).where('id', 'in', p.ids).where('username', 'like', p.pattern).orderBy('id').limit(p.limit).compile();

  it('gives the text and parameters of a fresh compile, for every call of a shape and for each shape', () => {
    for (const params of [
      { ids: [1, 2, 3], pattern: 'shape_1%', limit: 2 },
      { ids: [7, 8, 9], pattern: 'shape_%', limit: 50 },
      { ids: [5], pattern: 'x%', limit: 1 },
      { ids: [4, 5, 6, 7, 8, 9, 10], pattern: 'shape_%', limit: 3 },
    ]) {
      const shaped = shapedQuery(dbh.db, 'test:ids', params, byIds);
      const direct = byIds(params);
      expect(shaped.sql).toBe(direct.sql);
      expect(shaped.parameters).toEqual(direct.parameters);
    }
  });

  it('returns the same rows as the query built directly', async () => {
    const params = { ids: [3, 4, 5, 6], pattern: 'shape_%', limit: 3 };
    const shaped = await executeRows(dbh.db, shapedQuery(dbh.db, 'test:ids', params, byIds));
    const direct = (await dbh.db.executeQuery(byIds(params))).rows;
    expect(shaped).toEqual(direct);
    expect(shaped.map((r) => r.id)).toEqual([3, 4, 5]);
  });

  it('refuses a build that computes a value from a param or writes one into the text', () => {
    expect(() => shapedQuery(dbh.db, 'test:computed', { x: 2 }, (p) => sql`select ${Math.cos(p.x)} as c`.compile(dbh.db))).toThrow(/computed from the params/);
    expect(() => shapedQuery(dbh.db, 'test:text', { x: 2 }, (p) => sql`select ${sql.raw(String(p.x))} as c`.compile(dbh.db))).toThrow(/into the SQL text/);
  });

  it('finds the nearest users through the cached shape as the statement built directly does', async () => {
    for (const [latitude, longitude, radiusM] of [[31.05, 121.05, 3000], [31.1, 121.1, 800], [31.02, 121.15, 20_000], [31.05, 121.05, 3000]] as const) {
      const circle = { latitude, longitude, radiusM };
      const shaped = await nearestInCircle(dbh.db, circle, now - 1500, 1, 20);
      const direct = (await nearestQuery(dbh.db, circle, now - 1500, 1, 20).execute())
        .map((r) => ({ id: r.id, distance: distanceMetres(latitude, longitude, Number(r.latitude), Number(r.longitude)) }))
        .filter((r) => r.distance <= radiusM)
        .sort((a, b) => a.distance - b.distance || a.id - b.id);
      expect(shaped.map((u) => u.user.id)).toEqual(direct.map((r) => r.id));
      expect(shaped.length).toBeGreaterThan(0);
    }
  });
});
