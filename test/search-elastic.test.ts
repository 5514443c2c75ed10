import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { transact } from '../src/db/transaction.js';
import { pendingCount } from '../src/search/search-outbox.js';
import { ElasticNearbyIndex } from '../src/search/nearby-index.elastic.js';
import { ElasticSearchIndex, mappings } from '../src/search/search-index.elastic.js';
import { openTestDatabase } from './helpers/database.js';
import { ElasticMock } from './helpers/elastic-mock.js';
import { post, registerUser } from './helpers/http.js';
import { startTestNode } from './helpers/node.js';

/** The Elasticsearch adapter's own duties (against @elastic/elasticsearch-mock; no real cluster runs here). */
describe('elasticsearch search index', () => {
  let dbh: DbHandle;
  let mock: ElasticMock;
  let index: ElasticSearchIndex;
  let clock = 1_000_000;
  beforeEach(async () => {
    dbh = await openTestDatabase('sqlite');
    mock = new ElasticMock();
    index = new ElasticSearchIndex(dbh.db, mock.client, { indexPrefix: 't', outboxIntervalMs: 100, outboxMaxBackoffMs: 1000, log: pino({ level: 'silent' }), clock: () => clock });
  });
  afterEach(async () => {
    await index.stop();
    await dbh.close();
  });

  async function addUser(nickname: string) {
    return transact(dbh.db, async (trx) => {
      const r = await trx.insertInto('users').values({ username: `e_${nickname}`, nickname, password_hash: 'x', created_at: 1, updated_at: 1 }).executeTakeFirstOrThrow();
      const id = Number(r.insertId);
      await index.onChange(trx, { kind: 'user', id });
      return id;
    });
  }

  it('creates both index mappings at start, once', async () => {
    await index.start();
    expect(mock.requests.filter((r) => r.method === 'PUT').map((r) => [r.path, r.body.mappings])).toEqual([
      ['/t_users', mappings.user],
      ['/t_groups', mappings.group],
    ]);
    expect(mappings.user.properties).toMatchObject({ text: { type: 'wildcard' }, location: { type: 'geo_point' } });
    const again = new ElasticSearchIndex(dbh.db, mock.client, { indexPrefix: 't', outboxIntervalMs: 100, outboxMaxBackoffMs: 1000, log: pino({ level: 'silent' }) });
    await again.ensureMappings();
    expect(mock.requests.filter((r) => r.method === 'PUT')).toHaveLength(2);
  });

  it('drains outbox rows into one bulk request after commit', async () => {
    await index.start();
    const a = await addUser('甲乙丙');
    const b = await addUser('丁戊己');
    expect(await pendingCount(dbh.db)).toBe(2);
    expect(mock.docs('t_users').size).toBe(0);
    expect(await index.worker.runOnce()).toEqual({ delivered: 2, failed: 0 });
    expect(await pendingCount(dbh.db)).toBe(0);
    const bulks = mock.requests.filter((r) => r.path === '/_bulk');
    expect(bulks).toHaveLength(1);
    expect(bulks[0]!.body).toEqual([
      { index: { _index: 't_users', _id: String(a) } }, { id: a, text: 'e_甲乙丙\n甲乙丙' },
      { index: { _index: 't_users', _id: String(b) } }, { id: b, text: 'e_丁戊己\n丁戊己' },
    ]);
  });

  for (const outage of ['http-503', 'connection'] as const) {
    it(`keeps outbox rows through an outage (${outage}) and delivers them later`, async () => {
      await index.start();
      const id = await addUser('断线');
      mock.outage = outage;
      expect(await index.worker.runOnce()).toEqual({ delivered: 0, failed: 1 });
      const row = await dbh.db.selectFrom('search_outbox').selectAll().executeTakeFirstOrThrow();
      expect([row.attempts, row.next_attempt_at]).toEqual([1, clock + 100]);
      clock += 100;
      expect(await index.worker.runOnce()).toEqual({ delivered: 0, failed: 1 });
      expect(Number((await dbh.db.selectFrom('search_outbox').select('next_attempt_at').executeTakeFirstOrThrow()).next_attempt_at)).toBe(clock + 200);
      mock.outage = undefined;
      expect(await index.worker.runOnce()).toEqual({ delivered: 0, failed: 0 });
      clock += 200;
      expect(await index.worker.runOnce()).toEqual({ delivered: 1, failed: 0 });
      expect(mock.docs('t_users').get(String(id))).toEqual({ id, text: 'e_断线\n断线' });
    });
  }

  it('creates the mappings later when the cluster was down at start', async () => {
    mock.outage = 'connection';
    await index.start();
    await addUser('晚到');
    mock.outage = undefined;
    expect(await index.worker.runOnce()).toEqual({ delivered: 1, failed: 0 });
    expect(mock.indices.has('t_users')).toBe(true);
  });

  it('retries only the bulk items Elasticsearch rejected', async () => {
    await index.start();
    const a = await addUser('好的');
    const b = await addUser('拒绝');
    mock.rejectIds.add(String(b));
    expect(await index.worker.runOnce()).toEqual({ delivered: 1, failed: 1 });
    expect((await dbh.db.selectFrom('search_outbox').select('entity_id').execute()).map((r) => Number(r.entity_id))).toEqual([b]);
    expect([...mock.docs('t_users').keys()]).toEqual([String(a)]);
  });

  it('builds wildcard and geo_distance queries and maps hits to users and distance_m', async () => {
    await index.start();
    const id = await addUser('查询*者');
    await dbh.db.updateTable('users').set({ latitude: 31.23, longitude: 121.47, location_updated_at: clock }).where('id', '=', id).execute();
    await transact(dbh.db, (trx) => index.onChange(trx, { kind: 'user', id }));
    await index.worker.runOnce();
    expect(await index.searchUsers('询*者', { offset: 0, limit: 5 })).toEqual([{ id, username: 'e_查询*者', nickname: '查询*者', avatar: '', sex: 0 }]);
    const search = mock.requests.filter((r) => r.path === '/t_users/_search').at(-1)!.body;
    expect(search).toEqual({ from: 0, size: 5, _source: false, query: { wildcard: { text: { value: '*询\\*者*' } } }, sort: [{ id: 'asc' }] });
    const nearby = new ElasticNearbyIndex(dbh.db, mock.client, 't_users');
    const found = await nearby.nearbyUsers({ latitude: 31.24, longitude: 121.47, distanceKm: 5, since: clock - 1, excludeUserId: 0, page: { offset: 20, limit: 20 } });
    expect(found).toEqual([]);
    const page1 = await nearby.nearbyUsers({ latitude: 31.24, longitude: 121.47, distanceKm: 5, since: clock - 1, excludeUserId: 0, page: { offset: 0, limit: 20 } });
    expect(page1).toEqual([{ id, username: 'e_查询*者', nickname: '查询*者', avatar: '', sex: 0, distance_m: 1112 }]);
    const geo = mock.requests.filter((r) => r.path === '/t_users/_search').at(-1)!.body;
    expect(geo.sort[0]).toEqual({ _geo_distance: { location: { lat: 31.24, lon: 121.47 }, order: 'asc', unit: 'm', distance_type: 'arc' } });
    expect(geo.query.bool.filter[0]).toEqual({ geo_distance: { distance: '5km', location: { lat: 31.24, lon: 121.47 } } });
  });
});

describe('a node with search.backend elastic', () => {
  it('starts the outbox worker, feeds registrations to the index, and stops it', async () => {
    const mock = new ElasticMock();
    const t = await startTestNode('sqlite', { WEIM_SEARCH_BACKEND: 'elastic', WEIM_SEARCH_ELASTIC_URL: 'http://127.0.0.1:9200', WEIM_SEARCH_OUTBOX_INTERVAL_MS: '20' }, { elasticClient: mock.client });
    try {
      expect(mock.indices.has('weim_users')).toBe(true);
      const { user, token } = await registerUser(t.api);
      await expect.poll(() => mock.docs('weim_users').has(String(user.id)), { timeout: 5000 }).toBe(true);
      const found = await post(t.api, '/im/friend/search', { word: user.username.slice(0, 8) }, { token });
      expect(found.data.list).toContainEqual(user);
    } finally {
      await t.stop();
    }
    const requestsAfterStop = mock.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(mock.requests.length).toBe(requestsAfterStop);
  });
});
