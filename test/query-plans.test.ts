import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { boundingBox } from '../src/search/geo.js';
import { boxQuery, nearestQuery } from '../src/search/nearby.repo.js';
import { rangesQuery, withdrawsQuery } from '../src/modules/sync/sync.repo.js';
import { openTestDatabase, testDialects } from './helpers/database.js';
import { recordStatements } from './helpers/mysql-statements.js';
import { runnerOf } from '../src/db/prepared.js';
import { SqlNearbyIndex } from '../src/search/nearby-index.sql.js';
import { SqlSearchIndex } from '../src/search/search-index.sql.js';

/**
 * The plans of hot statements, read from the database itself: an index that exists but is not the
 * one the statement can use (a virtual column, a partial index whose condition the query does not
 * imply) costs nothing in the tests and a great deal under load.
 */
describe.each(testDialects())('query plans on %s', (dialect) => {
  let dbh: DbHandle;
  const now = Date.now();

  beforeAll(async () => {
    dbh = await openTestDatabase(dialect);
    // Spread over the globe, so that MariaDB's statistics tell a box from the whole table.
    const users = Array.from({ length: 3000 }, (_, i) => ({
      username: `plan_${i}`, nickname: `plan ${i}`, password_hash: 'x', created_at: now, updated_at: now,
      latitude: ((i * 7919) % 17_000) / 100 - 85, longitude: ((i * 104_729) % 35_000) / 100 - 175, location_updated_at: now,
    }));
    for (let i = 0; i < users.length; i += 500) await dbh.db.insertInto('users').values(users.slice(i, i + 500)).execute();
    if (dialect === 'mysql') await sql`analyze table users`.execute(dbh.db);
  });

  afterAll(async () => {
    await dbh?.close();
  });

  async function plan(query: { compile(): CompiledQuery }): Promise<string> {
    const compiled = query.compile();
    const prefix = dialect === 'sqlite' ? 'explain query plan ' : 'explain ';
    const result = await dbh.db.executeQuery(CompiledQuery.raw(prefix + compiled.sql, [...compiled.parameters]));
    return JSON.stringify(result.rows);
  }

  it('answers a nearby box from the strip index alone', async () => {
    const query = boxQuery(dbh.db, boundingBox(31.2, 121.5, 2000), now - 86_400_000, 1);
    const shown = await plan(query);
    // A SEARCH of one longitude range per strip, not a SCAN of the whole index.
    if (dialect === 'sqlite') expect(shown).toContain('SEARCH users USING COVERING INDEX users_geo_strip_idx (<expr>=? AND longitude>? AND longitude<?)');
    else expect(shown).toMatch(/"key":"users_geo_strip_idx".*Using index/);
  });

  it('picks the nearest of a box from one index range per strip, in one statement', async () => {
    const shown = await plan(nearestQuery(dbh.db, { latitude: 31.2, longitude: 121.5, radiusM: 2000 }, now - 86_400_000, 1, 20));
    if (dialect === 'sqlite') {
      // The index holds what a page shows; the nearest 20 are kept by a sorter.
      expect(shown).toContain('SEARCH users USING COVERING INDEX users_geo_strip_idx (<expr>=? AND longitude>? AND longitude<?)');
      expect(shown).toContain('USE TEMP B-TREE FOR ORDER BY');
    } else {
      expect(shown).toMatch(/"key":"users_geo_strip_idx"/);
      expect(shown).toMatch(/"type":"range"/);
    }
  });

  it('runs the nearby and search statements as prepared statements on MySQL (text queries on SQLite)', async () => {
    const nearby = () => new SqlNearbyIndex(dbh.db).nearbyUsers({ latitude: 31.2, longitude: 121.5, distanceKm: 100, since: now - 86_400_000, excludeUserId: 1, page: { offset: 0, limit: 20 } });
    const search = () => new SqlSearchIndex(dbh.db).searchUsers('plan', { offset: 0, limit: 20 });
    if (dialect === 'sqlite') {
      expect(runnerOf(dbh.db)).toBeUndefined();
      return;
    }
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    const executed = await recordStatements(name, async () => [await nearby(), await search()], 'execute');
    expect(executed.statements.some((s) => s.includes('order by pow(sin(')), 'the nearby statement').toBe(true);
    expect(executed.statements.some((s) => s.includes('from search_grams')), 'a search statement').toBe(true);
    expect(executed.result[0]!.length).toBeGreaterThan(0);
    const queried = await recordStatements(name, async () => [await nearby(), await search()]);
    expect(queried.statements.filter((s) => s.includes('pow(sin(') || s.includes('search_grams'))).toEqual([]);
    // Inside a transaction Kysely's own connection runs them, as text.
    await dbh.db.transaction().execute(async (trx) => expect(runnerOf(trx)).toBeUndefined());
  });

  it('finds withdraws of a conversation through its withdraw index', async () => {
    const shown = await plan(withdrawsQuery(dbh.db, 1, 0, 100, 50));
    if (dialect === 'sqlite') expect(shown).toContain('SEARCH messages USING INDEX messages_conversation_withdraw_idx (conversation_id=? AND withdraw_seq>? AND withdraw_seq<?)');
    else expect(shown).toContain('messages_conversation_withdraw_idx');
  });

  it('reads the missed messages of several conversations by one (conversation, seq) index range each', async () => {
    const shown = await plan(rangesQuery(dbh.db, [{ conversationId: 1, after: 0, upTo: 10 }, { conversationId: 2, after: 5, upTo: 9 }, { conversationId: 3, after: 1, upTo: 4 }]));
    if (dialect === 'sqlite') {
      expect(shown).toContain('MULTI-INDEX OR');
      expect(shown.match(/SEARCH messages USING INDEX messages_conversation_seq_uq \(conversation_id=\? AND seq>\? AND seq<\?\)/g)).toHaveLength(3);
      expect(shown).not.toContain('SCAN');
    } else {
      expect(shown).toMatch(/"key":"messages_conversation_seq_uq"/);
      expect(shown).toMatch(/"type":"range"/);
    }
  });
});
