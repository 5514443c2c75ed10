import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DbHandle } from '../../src/db/connect.js';

/** What a refused request must leave as it was: every table's rows, and the stored upload files. */
export interface Snapshot {
  /** Table → hash of its rows (in any order). */
  tables: Map<string, { rows: number; hash: string }>;
  files: string[];
}

/** Tables that say nothing about what a request did (none hold rate-limit counters or logs today). */
const IGNORED = new Set(['kysely_migration', 'kysely_migration_lock']);

const stringify = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Date ? v.toISOString() : v));

/** Reads every table of the database whole (the suite's database stays small) and the blob directory. */
export async function snapshot(dbh: DbHandle, dataDir: string): Promise<Snapshot> {
  const names = await tableNames(dbh);
  const tables = new Map<string, { rows: number; hash: string }>();
  await Promise.all(
    names.map(async (name) => {
      const rows = await dbh.db.selectFrom(name as never).selectAll().execute();
      const lines = rows.map((r) => stringify(r)).sort();
      tables.set(name, { rows: rows.length, hash: createHash('sha256').update(lines.join('\n')).digest('hex') });
    }),
  );
  return { tables, files: blobFiles(dataDir) };
}

const tableLists = new WeakMap<DbHandle, Promise<string[]>>();

/** The database's tables, read once (the schema does not change during a run). */
function tableNames(dbh: DbHandle): Promise<string[]> {
  let names = tableLists.get(dbh);
  if (!names) {
    names = dbh.db.introspection.getTables().then((tables) => tables.map((t) => t.name).filter((n) => !IGNORED.has(n)).sort());
    tableLists.set(dbh, names);
  }
  return names;
}

function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, 'blobs');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length))
    .sort();
}

/** What differs between two snapshots, in words; empty when nothing does. */
export function differences(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [name, b] of before.tables) {
    const a = after.tables.get(name);
    if (!a) out.push(`table ${name} is gone`);
    else if (a.hash !== b.hash) out.push(`table ${name} changed (${b.rows} → ${a.rows} rows)`);
  }
  for (const name of after.tables.keys()) if (!before.tables.has(name)) out.push(`table ${name} appeared`);
  const added = after.files.filter((f) => !before.files.includes(f));
  const removed = before.files.filter((f) => !after.files.includes(f));
  if (added.length) out.push(`files stored: ${added.join(', ')}`);
  if (removed.length) out.push(`files removed: ${removed.join(', ')}`);
  return out;
}
