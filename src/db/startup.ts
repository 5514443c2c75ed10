import { Migrator } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { redactUrl, StartupError } from '../errors.js';
import { withTimeout } from '../timeout.js';
import type { DbHandle } from './connect.js';

/** MySQL errors no retry cures: wrong user or password, no such database, no access to it. */
const FATAL_MYSQL_ERRORS = new Set(['ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ER_NOT_SUPPORTED_AUTH_MODE']);

/**
 * Waits until the database answers, for up to `timeoutMs` while it refuses or drops connections
 * (a server still starting); a refusal no retry cures (wrong password, unknown database) fails at
 * once. Throws StartupError naming the database (without its password) and the reason.
 */
export async function awaitDatabase(dbh: DbHandle, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await withTimeout(dbh.ping(), Math.max(500, deadline - Date.now()));
      return;
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (FATAL_MYSQL_ERRORS.has(code) || Date.now() + 250 >= deadline) {
        const where = dbh.dialect === 'mysql' ? `MySQL at ${redactUrl(dbh.location)}` : `SQLite at ${dbh.location}`;
        const waited = FATAL_MYSQL_ERRORS.has(code) ? '' : ` (tried for ${Math.round(timeoutMs / 1000)} s, ${attempt} attempts; db.connect_timeout_ms)`;
        throw new StartupError(`database: cannot use ${where}: ${(err as Error).message}${code ? ` [${code}]` : ''}${waited}`);
      }
      await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 1000)));
    }
  }
}

/**
 * The migrations this build has that the database has not run. Does not create Kysely's
 * bookkeeping tables (an empty database has them all pending).
 */
export async function pendingMigrations(dbh: DbHandle): Promise<{ pending: string[]; unknown: string[] }> {
  const migrator = new Migrator({ db: dbh.db, provider: { getMigrations: async () => migrations } });
  const known = await migrator.getMigrations();
  const pending = known.filter((m) => !m.executedAt).map((m) => m.name);
  // Ran by a newer build: this one may not know the columns they add.
  const names = new Set(known.map((m) => m.name));
  const executed = await dbh.db
    .selectFrom('kysely_migration' as never)
    .select('name' as never)
    .execute()
    .then((rows) => rows.map((r) => (r as { name: string }).name))
    .catch(() => [] as string[]);
  return { pending, unknown: executed.filter((n) => !names.has(n)) };
}

/** Refuses to start on a database whose schema is behind this build, naming what to run. */
export async function requireMigrated(dbh: DbHandle): Promise<{ unknown: string[] }> {
  const { pending, unknown } = await pendingMigrations(dbh);
  if (pending.length > 0) {
    const shown = pending.length > 5 ? `${pending.slice(0, 5).join(', ')} and ${pending.length - 5} more` : pending.join(', ');
    throw new StartupError(
      `database: ${pending.length} of ${Object.keys(migrations).length} migrations have not run on ${redactUrl(dbh.location)} (${shown}). ` +
        'Run `npm run migrate` with the same configuration, or set db.migrate_on_start to true (WEIM_DB_MIGRATE_ON_START=true).',
    );
  }
  return { unknown };
}
