import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DbHandle, openDatabase } from '../src/db/connect.js';
import { SqliteReader, SqliteReaderPool } from '../src/db/sqlite-reader.js';

describe('SQLite reader thread', () => {
  let dir: string;
  let dbh: DbHandle;
  let reader: DbHandle;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'weim-reader-'));
    dbh = openDatabase({ dialect: 'sqlite', location: join(dir, 'w.sqlite') });
    await sql`create table t (id integer primary key, name text not null)`.execute(dbh.db);
    reader = dbh.openReader!();
  });
  afterAll(async () => {
    await reader?.close();
    await dbh?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const names = async () => (await sql<{ id: number; name: string }>`select id, name from t order by id`.execute(reader.db)).rows;

  it('reads what the writer committed just before, and answers many queries in flight each with its own rows', async () => {
    expect(await names()).toEqual([]);
    await sql`insert into t (id, name) values (1, 'one'), (2, 'two')`.execute(dbh.db);
    expect(await names()).toEqual([{ id: 1, name: 'one' }, { id: 2, name: 'two' }]);
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => sql<{ n: number }>`select ${i} + count(*) as n from t`.execute(reader.db)));
    expect(answers.map((a) => a.rows[0]!.n)).toEqual(Array.from({ length: 200 }, (_, i) => i + 2));
  });

  it('refuses to write, and the database is unchanged', async () => {
    await expect(sql`insert into t (id, name) values (3, 'three')`.execute(reader.db)).rejects.toThrow();
    await expect(sql`delete from t`.execute(reader.db)).rejects.toThrow();
    await expect(reader.db.transaction().execute(async () => {})).rejects.toThrow(/no transactions/);
    expect((await sql<{ n: number }>`select count(*) as n from t`.execute(dbh.db)).rows[0]!.n).toBe(2);
  });

  it('a pool of two threads splits the queries of a turn between them, answers each with its own rows, and closes both', async () => {
    const threads = [new SqliteReader(join(dir, 'w.sqlite')), new SqliteReader(join(dir, 'w.sqlite'))];
    const posted = [0, 0];
    for (const [i, t] of threads.entries()) {
      await t.query('select 1 as x', []);
      const worker = (t as unknown as { worker: { postMessage(m: unknown): void } }).worker;
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (m) => { posted[i] = posted[i]! + (Array.isArray(m) ? m.length : 0); post(m); };
    }
    const pool = new SqliteReaderPool(threads);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => pool.query('select ? + count(*) as n from t', [i])));
    expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => [{ n: i + 2 }]));
    expect(posted).toEqual([20, 20]);
    await pool.close();
    for (const t of threads) await expect(t.query('select 1', [])).rejects.toThrow(/closed/);
  });

  it('posts the queries of one event-loop turn to its thread as one message, and answers each', async () => {
    const own = new SqliteReader(join(dir, 'w.sqlite'));
    try {
      await own.query('select 1 as x', []);
      const worker = (own as unknown as { worker: { postMessage(m: unknown): void } }).worker;
      const posted: unknown[] = [];
      const post = worker.postMessage.bind(worker);
      worker.postMessage = (m) => { posted.push(m); post(m); };
      const turn = Array.from({ length: 30 }, (_, i) => own.query('select ? + count(*) as n from t', [i]));
      const answers = await Promise.all(turn);
      expect(answers).toEqual(Array.from({ length: 30 }, (_, i) => [{ n: i + 2 }]));
      expect(posted).toHaveLength(1);
      expect(posted[0]).toHaveLength(30);
    } finally {
      await own.close();
    }
  });

  it('a query whose parameters cannot reach the thread fails alone; one asked for just before close is answered', async () => {
    const own = new SqliteReader(join(dir, 'w.sqlite'));
    const [bad, good] = await Promise.allSettled([own.query('select ? as x', [() => 1]), own.query('select ? as x', [7])]);
    expect(bad.status).toBe('rejected');
    expect(good).toEqual({ status: 'fulfilled', value: [{ x: 7 }] });
    const last = own.query('select count(*) as n from t', []);
    await own.close();
    expect(await last).toEqual([{ n: 2 }]);
  });

  it('a failing statement fails alone; the thread goes on', async () => {
    const [bad, good] = await Promise.allSettled([sql`select * from no_such_table`.execute(reader.db), names()]);
    expect(bad.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toContain('no such table');
    expect(good).toEqual({ status: 'fulfilled', value: [{ id: 1, name: 'one' }, { id: 2, name: 'two' }] });
  });

  it('after its thread dies, queries in flight fail and the next one runs on a new thread', async () => {
    const own = new SqliteReader(join(dir, 'w.sqlite'));
    try {
      expect(await own.query('select count(*) as n from t', [])).toEqual([{ n: 2 }]);
      // Long enough (a second or so) that the thread is still in it when it is terminated.
      const inFlight = own.query('with recursive c(x) as (select 1 union all select x + 1 from c where x < 3000000) select count(*) as n from c', []);
      await new Promise((r) => setTimeout(r, 50));
      await (own as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
      await expect(inFlight).rejects.toThrow(/exited/);
      expect(await own.query('select name from t where id = ?', [2])).toEqual([{ name: 'two' }]);
    } finally {
      await own.close();
    }
    await expect(own.query('select 1', [])).rejects.toThrow(/closed/);
  });

  it('does not keep a process alive that left it open', () => {
    const fixture = fileURLToPath(new URL('./fixtures/sqlite-reader-left-open.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture, join(dir, 'left-open.sqlite')], { timeout: 20_000, encoding: 'utf8' });
    expect(run.stdout).toBe('read 1\n');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  });

  it('is offered for SQLite files only: not for :memory: (a thread cannot share it)', () => {
    const memory = openDatabase({ dialect: 'sqlite', location: ':memory:' });
    expect(memory.openReader).toBeUndefined();
    return memory.close();
  });
});
