import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/connect.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('SQLite checkpointer', () => {
  it('copies committed pages into the database file from its own thread, and stops on close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weim-ckpt-'));
    dirs.push(dir);
    const file = join(dir, 'w.sqlite');
    const dbh = openDatabase({ dialect: 'sqlite', location: file });
    await sql`create table blobs (id integer primary key, body text not null)`.execute(dbh.db);
    // The writer's own checkpoint waits for 10,000 WAL pages (about 40 MB): with these 2 MB alone,
    // only the checkpointer thread can move pages from the WAL into the database file.
    const autocheckpoint = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(dbh.db);
    expect(Number(autocheckpoint.rows[0]!.wal_autocheckpoint)).toBe(10_000);
    const sizeBefore = statSync(file).size;
    const body = 'x'.repeat(2000);
    for (let i = 0; i < 1000; i++) await sql`insert into blobs (body) values (${body})`.execute(dbh.db);
    expect(await until(() => statSync(file).size > sizeBefore + 1_500_000, 5000)).toBe(true);
    const rows = await sql<{ n: number }>`select count(*) as n from blobs`.execute(dbh.db);
    expect(Number(rows.rows[0]!.n)).toBe(1000);
    await dbh.close();

    // Everything committed is there for the next process.
    const again = openDatabase({ dialect: 'sqlite', location: file });
    const reread = await sql<{ n: number }>`select count(*) as n from blobs`.execute(again.db);
    expect(Number(reread.rows[0]!.n)).toBe(1000);
    await again.close();
  });

  it('does not keep a process alive that left its database open', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weim-ckpt-'));
    dirs.push(dir);
    const fixture = fileURLToPath(new URL('./fixtures/sqlite-left-open.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture, join(dir, 'w.sqlite')], { timeout: 20_000, encoding: 'utf8' });
    expect(run.stdout).toBe('done\n');
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
  });
});
