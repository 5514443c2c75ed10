import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DbHandle, openDatabase } from '../src/db/connect.js';

describe('SQLite connection handed out in turn', () => {
  let dbh: DbHandle;

  beforeAll(async () => {
    dbh = openDatabase({ dialect: 'sqlite', location: ':memory:' });
    await sql`create table counter (id integer primary key, n integer not null)`.execute(dbh.db);
    await sql`insert into counter (id, n) values (1, 0)`.execute(dbh.db);
  });
  afterAll(async () => {
    await dbh?.close();
  });

  const read = async () => (await sql<{ n: number }>`select n from counter where id = 1`.execute(dbh.db)).rows[0]!.n;

  it('runs 3,000 transactions issued together one at a time: no update is lost', async () => {
    await Promise.all(
      Array.from({ length: 3000 }, () =>
        dbh.db.transaction().execute(async (trx) => {
          const { n } = (await sql<{ n: number }>`select n from counter where id = 1`.execute(trx)).rows[0]!;
          await new Promise((resolve) => setImmediate(resolve));
          await sql`update counter set n = ${n + 1} where id = 1`.execute(trx);
        }),
      ),
    );
    expect(await read()).toBe(3000);
  });

  it('answers queries in the order they were asked, between transactions', async () => {
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        i % 10 === 0
          ? dbh.db.transaction().execute(async (trx) => {
              await sql`update counter set n = n + 1 where id = 1`.execute(trx);
              order.push(i);
            })
          : sql`select ${i} as i`.execute(dbh.db).then(() => order.push(i)),
      ),
    );
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('hands the connection on after a transaction fails, with its changes rolled back', async () => {
    const before = await read();
    const failing = dbh.db.transaction().execute(async (trx) => {
      await sql`update counter set n = n + 100 where id = 1`.execute(trx);
      throw new Error('refused');
    });
    const after = Promise.all(Array.from({ length: 50 }, () => read()));
    await expect(failing).rejects.toThrow('refused');
    expect(await after).toEqual(Array.from({ length: 50 }, () => before));
  });
});
