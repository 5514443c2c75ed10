import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DbHandle, openDatabase } from '../src/db/connect.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { Executor } from '../src/db/database.js';
import { transact } from '../src/db/transaction.js';
import { distanceMetres } from '../src/search/geo.js';
import type { NearbyIndex, SearchIndex } from '../src/search/index.js';
import { ElasticNearbyIndex } from '../src/search/nearby-index.elastic.js';
import { SqlNearbyIndex } from '../src/search/nearby-index.sql.js';
import { ElasticSearchIndex } from '../src/search/search-index.elastic.js';
import { SqlSearchIndex } from '../src/search/search-index.sql.js';
import { openTestDatabase, testDialects } from './helpers/database.js';
import { ElasticMock } from './helpers/elastic-mock.js';

/**
 * One contract for every SearchIndex / NearbyIndex: the SQL implementations on real SQLite and
 * MariaDB, the Elasticsearch ones against @elastic/elasticsearch-mock (see its emulation's limits
 * in test/helpers/elastic-mock.ts). Entities are written the way the services write them: the
 * row and the index hook in one transaction; `settle` waits for what happens after commit.
 */
interface Subject {
  dbh: DbHandle;
  index: SearchIndex;
  nearby: NearbyIndex;
  settle(): Promise<void>;
  close(): Promise<void>;
}

const quiet = pino({ level: 'silent' });
const subjects: Array<[string, () => Promise<Subject>]> = testDialects().map((dialect) => [
  `sql on ${dialect}`,
  async () => {
    const dbh = await openTestDatabase(dialect);
    return { dbh, index: new SqlSearchIndex(dbh.db), nearby: new SqlNearbyIndex(dbh.db), settle: async () => {}, close: () => dbh.close() };
  },
]);
subjects.push([
  'sql on a sqlite file, searching on its two reader threads',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weim-contract-'));
    const dbh = openDatabase({ dialect: 'sqlite', location: join(dir, 'weim.sqlite') });
    await migrateToLatest(dbh.db, { info: () => {} });
    const reader = dbh.openReader!(2);
    const close = async () => {
      await reader.close();
      await dbh.close();
      rmSync(dir, { recursive: true, force: true });
    };
    // Writes go to the file's own connection; every search and nearby query to the reader's.
    return { dbh, index: new SqlSearchIndex(dbh.db, reader.db), nearby: new SqlNearbyIndex(reader.db), settle: async () => {}, close };
  },
]);
subjects.push([
  'elasticsearch (mock) on sqlite',
  async () => {
    const dbh = await openTestDatabase('sqlite');
    const mock = new ElasticMock();
    const index = new ElasticSearchIndex(dbh.db, mock.client, { indexPrefix: 'c', outboxIntervalMs: 60_000, outboxMaxBackoffMs: 60_000, log: quiet });
    await index.start();
    const settle = async () => {
      while ((await index.worker.runOnce()).delivered > 0);
    };
    return { dbh, index, nearby: new ElasticNearbyIndex(dbh.db, mock.client, index.indexName('user')), settle, close: async () => (await index.stop(), await dbh.close()) };
  },
]);

describe.each(subjects)('search index contract: %s', (_name, make) => {
  let s: Subject;
  let serial = 0;
  const now = Date.now();
  beforeAll(async () => {
    s = await make();
  });
  afterAll(async () => {
    await s?.close();
  });

  async function write(work: (trx: Executor) => Promise<{ kind: 'user' | 'group'; id: number }>) {
    const change = await transact(s.dbh.db, async (trx) => {
      const c = await work(trx);
      await s.index.onChange(trx, c);
      return c;
    });
    await s.settle();
    return change.id;
  }
  const addUser = (nickname: string, username = `u${now % 100000}_${++serial}`, at?: { latitude: number; longitude: number; when?: number }, looks: { avatar?: string; sex?: number } = {}) =>
    write(async (trx) => {
      const r = await trx
        .insertInto('users')
        .values({ username, nickname, password_hash: 'x', created_at: now, updated_at: now, latitude: at?.latitude ?? null, longitude: at?.longitude ?? null, location_updated_at: at ? (at.when ?? now) : null, ...looks })
        .executeTakeFirstOrThrow();
      return { kind: 'user', id: Number(r.insertId) };
    });
  const addGroup = (name: string) =>
    write(async (trx) => {
      const r = await trx.insertInto('groups').values({ name, owner_id: 1, member_count: 1, created_at: now, updated_at: now }).executeTakeFirstOrThrow();
      return { kind: 'group', id: Number(r.insertId) };
    });
  const ids = async (word: string, offset = 0, limit = 20) => (await s.index.searchUsers(word, { offset, limit })).map((u) => u.id);

  it('finds 2-, 3- and 4+-character substrings of nicknames and usernames, CJK and Latin, any case', async () => {
    const a = await addUser('欧阳娜娜同学', 'nana_ouyang_01');
    const b = await addUser('Nana Ouyang', 'ny_fan_2024');
    const c = await addUser('阳光娜娜', 'sunny_day_99');
    expect(await ids('欧阳')).toEqual([a]);
    expect(await ids('娜娜')).toEqual([a, c]);
    expect(await ids('阳娜娜')).toEqual([a]);
    expect(await ids('欧阳娜娜同')).toEqual([a]);
    expect(await ids('NANA')).toEqual([a, b]);
    expect(await ids('na ou')).toEqual([b]);
    expect(await ids('uyang_0')).toEqual([a]);
    expect(await ids('娜娜娜')).toEqual([]);
    const [user] = await s.index.searchUsers('ny_fan', { offset: 0, limit: 20 });
    expect(user).toEqual({ id: b, username: 'ny_fan_2024', nickname: 'Nana Ouyang', avatar: '', sex: 0 });
  });

  it('pages in id order and never matches across two fields', async () => {
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await addUser(`页码${i}测试`, `pager_x${i}_${now % 1000}`));
    expect(await ids('码')).toEqual([]);
    expect([...(await ids('页码', 0, 2)), ...(await ids('页码', 2, 2)), ...(await ids('页码', 4, 2))]).toEqual(made);
    const edge = await addUser('zq开头', `endszq_${now % 1000}`);
    expect(await ids(`${now % 1000}zq`)).toEqual([]);
    expect(await ids('zq开')).toEqual([edge]);
  });

  it('a long word is found as soon as it is written, after searches that found nothing or something else', async () => {
    const word = `qzx${now % 1000}w`;
    expect(await ids(`${word}ord`)).toEqual([]);
    const id = await addUser(`${word}ord 新`);
    expect(await ids(`${word}ord`)).toEqual([id]);
    await write(async (trx) => {
      await trx.updateTable('users').set({ nickname: 'renamed away' }).where('id', '=', id).execute();
      return { kind: 'user', id };
    });
    expect(await ids(`${word}ord`)).toEqual([]);
  });

  it('treats wildcard and LIKE characters literally', async () => {
    const star = await addUser('a*b%c_d?e\\f', `lit_${now % 1000}_${serial}`);
    expect(await ids('a*b')).toEqual([star]);
    expect(await ids('%c_d')).toEqual([star]);
    expect(await ids('d?e\\')).toEqual([star]);
    expect(await ids('a?b')).toEqual([]);
  });

  it('follows changes and removals, and ignores rolled-back writes', async () => {
    const id = await addUser('旧名字啊');
    await write(async (trx) => {
      await trx.updateTable('users').set({ nickname: '新名字呀' }).where('id', '=', id).execute();
      return { kind: 'user', id };
    });
    expect(await ids('旧名字')).toEqual([]);
    expect(await ids('新名字')).toEqual([id]);
    await expect(
      transact(s.dbh.db, async (trx) => {
        await trx.updateTable('users').set({ nickname: '回滚名字' }).where('id', '=', id).execute();
        await s.index.onChange(trx, { kind: 'user', id });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await s.settle();
    expect(await ids('回滚')).toEqual([]);
    expect(await ids('新名字')).toEqual([id]);
    await write(async (trx) => {
      await trx.deleteFrom('users').where('id', '=', id).execute();
      return { kind: 'user', id };
    });
    expect(await ids('新名字')).toEqual([]);
  });

  it('finds groups by name, with their current row', async () => {
    const g1 = await addGroup('周末读书会');
    const g2 = await addGroup('读书 & hiking');
    const found = await s.index.searchGroups('读书', { offset: 0, limit: 20 });
    expect(found.map((g) => g.id)).toEqual([g1, g2]);
    expect(found[0]).toEqual({ id: g1, name: '周末读书会', owner_id: 1, member_count: 1, created_at: now, avatar: '', join_mode: 'approval' });
    expect((await s.index.searchGroups('HIKING', { offset: 0, limit: 1 })).map((g) => g.id)).toEqual([g2]);
  });

  it('nearby: nearest first with distance_m, self excluded before paging, window and radius honoured', async () => {
    const centre = { latitude: 35 + serial / 1000, longitude: -40 };
    const north = (km: number, when?: number) => ({ latitude: centre.latitude + km / 111.195, longitude: centre.longitude, when });
    const me = await addUser('me', undefined, north(0));
    const far = await addUser('far', undefined, north(60));
    const near = await addUser('near', 'near_user', north(1), { avatar: '/files/avatar/near.png', sex: 2 });
    const mid = await addUser('mid', undefined, north(5));
    await addUser('stale', undefined, north(2, now - 9 * 86_400_000));
    await addUser('outside', undefined, north(150));
    const query = (page: { offset: number; limit: number }, distanceKm = 100) =>
      s.nearby.nearbyUsers({ ...centre, distanceKm, since: now - 7 * 86_400_000, excludeUserId: me, page });
    const all = await query({ offset: 0, limit: 20 });
    expect(all.map((u) => u.id)).toEqual([near, mid, far]);
    for (const [i, km] of [1, 5, 60].entries()) {
      const exact = distanceMetres(centre.latitude, centre.longitude, north(km).latitude, north(km).longitude);
      expect(Math.abs(all[i]!.distance_m - exact)).toBeLessThanOrEqual(1);
    }
    expect(all[0]).toEqual({ id: near, username: 'near_user', nickname: 'near', avatar: '/files/avatar/near.png', sex: 2, distance_m: all[0]!.distance_m });
    expect((await query({ offset: 0, limit: 2 })).map((u) => u.id)).toEqual([near, mid]);
    expect((await query({ offset: 2, limit: 2 })).map((u) => u.id)).toEqual([far]);
    expect((await query({ offset: 0, limit: 20 }, 10)).map((u) => u.id)).toEqual([near, mid]);
  });

  it('nearby: users on and beside 0.01° latitude lines are found exactly when within the radius', async () => {
    // Far from the other tests' users; latitudes on a strip boundary, just either side of one,
    // and near the poles, where the box spans every longitude.
    const lats = [-60.01, -60.00999999, -60.00000001, -60, -59.99999999, -59.99, -89.995, 89.9999];
    const made = [];
    for (const latitude of lats) made.push({ id: await addUser('strip', undefined, { latitude, longitude: 12.34 }), latitude });
    for (const centre of [{ latitude: -60.005, longitude: 12.34 }, { latitude: -60, longitude: 12.3405 }, { latitude: -89.99, longitude: 100 }, { latitude: 89.99995, longitude: -170 }]) {
      for (const distanceKm of [0.6, 1.2, 3]) {
        const found = await s.nearby.nearbyUsers({ ...centre, distanceKm, since: 0, excludeUserId: 0, page: { offset: 0, limit: 20 } });
        const expected = made
          .map((u) => ({ id: u.id, d: distanceMetres(centre.latitude, centre.longitude, u.latitude, 12.34) }))
          .filter((u) => u.d <= distanceKm * 1000)
          .sort((a, b) => a.d - b.d || a.id - b.id)
          .map((u) => u.id);
        expect(found.map((u) => u.id), `${JSON.stringify(centre)} within ${distanceKm} km`).toEqual(expected);
      }
    }
  });

  it('nearby: a radius learnt at a crowded spot does not change answers elsewhere in its cell', async () => {
    const crowd = { latitude: 48.1 + (serial % 10) / 10_000, longitude: -120.1 };
    const lonely = { latitude: crowd.latitude, longitude: crowd.longitude + 5 / 74.3 }; // ~5 km east, same 0.1° cell
    const made: Array<{ id: number; latitude: number; longitude: number }> = [];
    for (let i = 0; i < 30; i++) {
      const at = { latitude: crowd.latitude + (i % 6) / 100_000, longitude: crowd.longitude + Math.floor(i / 6) / 100_000 };
      made.push({ id: await addUser('crowd', undefined, at), ...at });
    }
    for (let i = 0; i < 3; i++) {
      const at = { latitude: lonely.latitude + i / 1000, longitude: lonely.longitude };
      made.push({ id: await addUser('lonely', undefined, at), ...at });
    }
    const page = { offset: 0, limit: 20 };
    const expected = (from: typeof crowd) =>
      made
        .map((u) => ({ id: u.id, d: distanceMetres(from.latitude, from.longitude, u.latitude, u.longitude) }))
        .filter((u) => u.d <= 30_000)
        .sort((a, b) => a.d - b.d || a.id - b.id)
        .slice(0, 20)
        .map((u) => u.id);
    for (const from of [crowd, crowd, lonely, crowd, lonely]) {
      const found = await s.nearby.nearbyUsers({ ...from, distanceKm: 30, since: 0, excludeUserId: 0, page });
      expect(found.map((u) => u.id)).toEqual(expected(from));
    }
  });

  it('nearby: users in the corners of the bounding box, beyond the radius, are left out', async () => {
    const centre = { latitude: -33.3 - (serial % 10) / 1000, longitude: 151.2 };
    const at = (northKm: number, eastKm: number) => ({
      latitude: centre.latitude + northKm / 111.195,
      longitude: centre.longitude + eastKm / (111.195 * Math.cos((centre.latitude * Math.PI) / 180)),
    });
    const inside = await addUser('inside', undefined, at(1.5, 0));
    // 1.9 km north or south and 1.9 km east or west: inside the 2 km box, ~2.7 km away.
    for (const [n, e] of [[1.9, 1.9], [-1.9, 1.9], [1.9, -1.9], [-1.9, -1.9]] as const) await addUser('corner', undefined, at(n, e));
    const found = await s.nearby.nearbyUsers({ ...centre, distanceKm: 2, since: 0, excludeUserId: 0, page: { offset: 0, limit: 20 } });
    expect(found.map((u) => u.id)).toEqual([inside]);
    const wider = await s.nearby.nearbyUsers({ ...centre, distanceKm: 3, since: 0, excludeUserId: 0, page: { offset: 0, limit: 20 } });
    expect(wider).toHaveLength(5);
    expect(wider[0]!.id).toBe(inside);
  });

  it('nearby across the antimeridian', async () => {
    const west = await addUser('west', undefined, { latitude: -17, longitude: 179.99 });
    const east = await addUser('east', undefined, { latitude: -17, longitude: -179.98 });
    const found = await s.nearby.nearbyUsers({ latitude: -17, longitude: 179.995, distanceKm: 20, since: 0, excludeUserId: 0, page: { offset: 0, limit: 20 } });
    expect(found.map((u) => u.id)).toEqual([west, east]);
  });

  it('rebuild reproduces the index from the database', async () => {
    const id = await addUser('重建之后', `rebuild_${now % 1000}`);
    const messages: string[] = [];
    await s.index.rebuild((m) => messages.push(m));
    expect(messages.length).toBeGreaterThan(0);
    expect(await ids('重建之后')).toEqual([id]);
    expect(await ids('娜娜')).toHaveLength(2);
  });
});
