import { sql } from 'kysely';
import type { Executor } from '../db/database.js';
import { dialectOf } from '../db/migration-kit.js';
import { executeRows } from '../db/prepared.js';
import { shapedQuery } from '../db/shaped-query.js';
import { grams } from './search-text.js';

/** Queries on the SQL search index tables. Each takes the executor first. */

/** Rows per multi-row INSERT (3 bound values each; SQLite allows 32,766 per statement). */
const INSERT_CHUNK = 2000;

/** Writes (or, with `text` null, removes) one entity's document and its grams; a no-op when unchanged. */
export async function writeDocument(db: Executor, kind: number, entityId: number, text: string | null): Promise<void> {
  const old = await db.selectFrom('search_docs').select('text').where('kind', '=', kind).where('entity_id', '=', entityId).executeTakeFirst();
  if (old?.text === text) return;
  if (old) {
    const stale = grams(old.text);
    if (stale.length > 0) {
      await db.deleteFrom('search_grams').where('kind', '=', kind).where('entity_id', '=', entityId).where('gram', 'in', stale).execute();
    }
    if (text === null) {
      await db.deleteFrom('search_docs').where('kind', '=', kind).where('entity_id', '=', entityId).execute();
      return;
    }
    await db.updateTable('search_docs').set({ text }).where('kind', '=', kind).where('entity_id', '=', entityId).execute();
  } else {
    if (text === null) return;
    await db.insertInto('search_docs').values({ kind, entity_id: entityId, text }).execute();
  }
  await insertGrams(db, grams(text).map((gram) => ({ kind, gram, entity_id: entityId })));
}

/** Bulk-inserts documents of entities not yet indexed (rebuilds and seeding). */
export async function insertDocuments(db: Executor, kind: number, docs: Array<{ id: number; text: string }>): Promise<void> {
  for (let i = 0; i < docs.length; i += INSERT_CHUNK) {
    const chunk = docs.slice(i, i + INSERT_CHUNK);
    await db.insertInto('search_docs').values(chunk.map((d) => ({ kind, entity_id: d.id, text: d.text }))).execute();
  }
  await insertGrams(db, docs.flatMap((d) => grams(d.text).map((gram) => ({ kind, gram, entity_id: d.id }))));
}

async function insertGrams(db: Executor, rows: Array<{ kind: number; gram: string; entity_id: number }>): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await db.insertInto('search_grams').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  }
}

export async function clearKind(db: Executor, kind: number): Promise<void> {
  await db.deleteFrom('search_grams').where('kind', '=', kind).execute();
  await db.deleteFrom('search_docs').where('kind', '=', kind).execute();
}

/**
 * How many entities hold each gram, counting no further than `cap` (an index range of at most
 * `cap` entries each): enough to tell a rare gram from a common one.
 */
export async function countGrams(db: Executor, kind: number, grams: string[], cap: number): Promise<number[]> {
  const compiled = shapedQuery(db, 'count', { kind, grams, cap }, (p) => {
    const columns = p.grams.map(
      (gram, i) =>
        sql`(select count(*) from (select 1 as x from search_grams where kind = ${p.kind} and gram = ${gram} limit ${p.cap}) ${sql.raw(`t${i}`)}) as ${sql.raw(`c${i}`)}`,
    );
    return sql<Record<string, number>>`select ${sql.join(columns)}`.compile(db);
  });
  const row = (await executeRows(db, compiled))[0]!;
  return grams.map((_, i) => Number(row[`c${i}`]));
}

/**
 * Where a search's results come from: the entity table, joined to the postings so that one
 * statement answers the page (on MySQL one round trip instead of two), and the columns it returns.
 */
export interface ResultTable {
  table: 'users' | 'groups';
  columns: readonly string[];
}

/** Rows of entities holding the one gram (a 2- or 3-character word is its own gram), in id order. */
export async function rowsWithGram<R>(db: Executor, kind: number, gram: string, result: ResultTable, offset: number, limit: number): Promise<R[]> {
  const shape = `gram:${result.table}:${result.columns}`;
  return executeRows(
    db,
    shapedQuery(db, shape, { kind, gram, offset, limit }, (p) =>
      sql<R>`
    select ${columnsOf(result)} from search_grams g
    ${forcedJoin(db)} ${sql.table(result.table)} e on e.id = g.entity_id
    where g.kind = ${p.kind} and g.gram = ${p.gram}
    order by g.entity_id
    limit ${p.limit} offset ${p.offset}`.compile(db),
    ),
  );
}

/**
 * Rows of entities whose text contains `word`, in id order: walks the postings of `driver` in id
 * order, keeps those that also hold every gram of `probes` (primary-key lookups), checks the
 * exact substring on the document, then reads the entity's row. The join order is forced (CROSS
 * JOIN on SQLite, STRAIGHT_JOIN on MySQL) so the rarest gram drives and no sort is needed.
 */
export async function rowsContaining<R>(
  db: Executor,
  kind: number,
  word: string,
  driver: string,
  probes: string[],
  result: ResultTable,
  offset: number,
  limit: number,
): Promise<R[]> {
  const shape = `contains:${result.table}:${result.columns}`;
  return executeRows(
    db,
    shapedQuery(db, shape, { kind, word, driver, probes, offset, limit }, (p) => {
      const join = forcedJoin(db);
      const probeJoins = p.probes.map((gram, i) => {
        const alias = sql.raw(`p${i}`);
        return sql`${join} search_grams ${alias} on ${alias}.kind = g.kind and ${alias}.gram = ${gram} and ${alias}.entity_id = g.entity_id`;
      });
      return sql<R>`
    select ${columnsOf(result)} from search_grams g
    ${sql.join(probeJoins, sql` `)}
    ${join} search_docs d on d.kind = g.kind and d.entity_id = g.entity_id
    ${join} ${sql.table(result.table)} e on e.id = g.entity_id
    where g.kind = ${p.kind} and g.gram = ${p.driver} and instr(d.text, ${p.word}) > 0
    order by g.entity_id
    limit ${p.limit} offset ${p.offset}`.compile(db);
    }),
  );
}

function forcedJoin(db: Executor) {
  return sql.raw(dialectOf(db) === 'mysql' ? 'straight_join' : 'cross join');
}

function columnsOf(result: ResultTable) {
  return sql.join(result.columns.map((c) => sql.ref(`e.${c}`)));
}
