import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distanceMetres } from '../src/search/geo.js';
import { testDialects } from './helpers/database.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

/** A random spot far enough from the others that each test sees only its own users. */
function randomCentre() {
  return { latitude: -60 + Math.random() * 120, longitude: -170 + Math.random() * 340 };
}

describe.each(testDialects())('nearby people API on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_GEO_PAGE_SIZE: '2', WEIM_GEO_UPDATE_MAX_PER_MINUTE: '3', WEIM_GEO_WINDOW_DAYS: '7' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** A user at `km` north of the centre. */
  async function userAt(centre: { latitude: number; longitude: number }, km: number) {
    const u = await registerUser(t.api);
    const place = { latitude: centre.latitude + km / 111.195, longitude: centre.longitude };
    const res = await post(t.api, '/user/update/location', place, { token: u.token, form: true });
    expect({ status: res.status, code: res.code, msg: res.msg, data: res.data }).toEqual({ status: 200, code: 0, msg: expect.any(String), data: {} });
    return { ...u, place };
  }

  it('reports location: stored, shown as location_updated_at, validated ranges', async () => {
    const { token, user } = await registerUser(t.api);
    expect((await post(t.api, '/user/info', {}, { token })).data.location_updated_at).toBeNull();
    expect((await post(t.api, '/user/update/location', { longitude: 116.397, latitude: 39.909 }, { token })).code).toBe(0);
    const row = await t.dbh.db.selectFrom('users').select(['longitude', 'latitude']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ longitude: 116.397, latitude: 39.909 });
    expect((await post(t.api, '/user/info', {}, { token })).data.location_updated_at).toEqual(expect.any(Number));
    for (const body of [
      { longitude: 180.1, latitude: 0 }, { longitude: -181, latitude: 0 }, { longitude: 0, latitude: 90.5 }, { longitude: 0, latitude: -91 },
      { longitude: 'east', latitude: 0 }, { longitude: '', latitude: 0 }, { latitude: 0 }, { longitude: 0 },
    ]) {
      const res = await post(t.api, '/user/update/location', body, { token, form: true });
      expect([res.status, res.code], JSON.stringify(body)).toEqual([400, 1000]);
    }
    const anonymous = await post(t.api, '/user/update/location', { longitude: 0, latitude: 0 });
    expect([anonymous.status, anonymous.code]).toEqual([401, 1001]);
  });

  it('rate-limits location updates per user', async () => {
    const { token } = await registerUser(t.api);
    for (let i = 0; i < 3; i++) expect((await post(t.api, '/user/update/location', { longitude: 1, latitude: 1 }, { token })).code).toBe(0);
    const limited = await post(t.api, '/user/update/location', { longitude: 1, latitude: 1 }, { token });
    expect([limited.status, limited.code]).toEqual([429, 1005]);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const other = await registerUser(t.api);
    expect((await post(t.api, '/user/update/location', { longitude: 1, latitude: 1 }, { token: other.token })).code).toBe(0);
  });

  it('lists others nearest first with distance_m, excluding self before paging', async () => {
    const centre = randomCentre();
    const me = await userAt(centre, 0);
    const others = [await userAt(centre, 3), await userAt(centre, 0.5), await userAt(centre, 40), await userAt(centre, 12)];
    const seen = [];
    const pageLengths = [];
    for (let page = 1; page <= 3; page++) {
      const res = await post(t.api, '/geo/users', { ...centre, page }, { token: me.token, form: true });
      expect(res.code).toBe(0);
      expect(res.data.page).toBe(page);
      seen.push(...res.data.list);
      pageLengths.push(res.data.list.length);
    }
    // Pages of 2: full pages, because self is left out before paging (after, page 1 would hold one).
    expect(pageLengths).toEqual([2, 2, 0]);
    const expected = [...others].sort((a, b) => a.place.latitude - b.place.latitude);
    expect(seen.map((u) => u.id)).toEqual(expected.map((u) => u.user.id));
    for (const [i, u] of seen.entries()) {
      const exact = distanceMetres(centre.latitude, centre.longitude, expected[i]!.place.latitude, expected[i]!.place.longitude);
      expect(u).toEqual({ ...expected[i]!.user, distance_m: Math.round(exact) });
    }
    expect(seen[0].distance_m).toBeGreaterThan(450);
    expect(seen[0].distance_m).toBeLessThan(550);
  });

  it('honours the distance and the reporting window', async () => {
    const centre = randomCentre();
    const me = await registerUser(t.api);
    const near = await userAt(centre, 2);
    await userAt(centre, 30);
    const stale = await userAt(centre, 1);
    await t.dbh.db.updateTable('users').set({ location_updated_at: Date.now() - 8 * 86_400_000 }).where('id', '=', stale.user.id).execute();
    const within10 = await post(t.api, '/geo/users', { ...centre, distance: 10 }, { token: me.token });
    expect(within10.data.list.map((u: { id: number }) => u.id)).toEqual([near.user.id]);
    const all = await post(t.api, '/geo/users', { ...centre, distance: '100' }, { token: me.token, form: true });
    expect(all.data.list).toHaveLength(2);
    const far = await post(t.api, '/geo/users', { latitude: -centre.latitude, longitude: centre.longitude > 0 ? centre.longitude - 180 : centre.longitude + 180 }, { token: me.token });
    expect(far.data.list).toEqual([]);
  });

  it('refuses bad coordinates, distances and pages, and anonymous callers', async () => {
    const { token } = await registerUser(t.api);
    for (const body of [
      { longitude: 0, latitude: 0, distance: 100.5 }, { longitude: 0, latitude: 0, distance: 0 }, { longitude: 0, latitude: 0, distance: -1 },
      { longitude: 0, latitude: 0, page: 0 }, { longitude: 200, latitude: 0 }, { longitude: 0, latitude: -100 }, { longitude: 0 }, {},
    ]) {
      const res = await post(t.api, '/geo/users', body, { token });
      expect([res.status, res.code], JSON.stringify(body)).toEqual([400, 1000]);
    }
    const anonymous = await post(t.api, '/geo/users', { longitude: 0, latitude: 0 });
    expect([anonymous.status, anonymous.code]).toEqual([401, 1001]);
  });
});
