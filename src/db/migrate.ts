import { type Kysely, type MigrationResultSet, Migrator } from 'kysely';
import { migrations } from '../../migrations/index.js';

export interface MigrationLog {
  info(msg: string): void;
}

/** Applies every pending migration, reporting each one; throws on the first failure. */
export async function migrateToLatest(db: Kysely<any>, log: MigrationLog): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const pending = (await migrator.getMigrations()).filter((m) => !m.executedAt);
  log.info(`migrations: ${pending.length} pending of ${Object.keys(migrations).length}`);
  const result: MigrationResultSet = await migrator.migrateToLatest();
  const applied: string[] = [];
  for (const r of result.results ?? []) {
    log.info(`migration ${r.migrationName}: ${r.status}`);
    if (r.status === 'Success') applied.push(r.migrationName);
  }
  if (result.error) {
    throw new Error(`migration failed: ${(result.error as Error).message ?? String(result.error)}`, {
      cause: result.error,
    });
  }
  return applied;
}
