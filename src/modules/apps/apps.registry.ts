import type { Db } from '../../db/database.js';

export interface App {
  key: string;
  name: string;
  secret: string;
  enabled: boolean;
  /** How /api/* answers it. */
  api: 'woodylan' | 'goravel-socket';
}

/** How long an app read from the table is trusted before it is read again (an app disabled or added on another node). */
const TTL_MS = 5_000;

/**
 * The gateway's apps: those of the config written to `apps` at start, then read from the table
 * on demand (cached for a few seconds, misses too), so an app added or disabled through any node
 * is seen by every node within that time.
 */
export class AppRegistry {
  private readonly cache = new Map<string, { app: App | undefined; at: number }>();

  constructor(
    private readonly db: Db,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Writes the configured apps (the config wins over what the table held for their keys). */
  async seed(apps: readonly App[]): Promise<void> {
    const now = this.clock();
    for (const app of apps) {
      const row = { name: app.name, secret: app.secret, enabled: app.enabled ? 1 : 0, api: app.api, updated_at: now };
      const updated = await this.db.updateTable('apps').set(row).where('app_key', '=', app.key).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) await this.db.insertInto('apps').values({ app_key: app.key, ...row, created_at: now }).execute();
      this.cache.set(app.key, { app, at: now });
    }
  }

  /** The enabled app of `key`, or undefined (unknown or disabled). */
  async enabled(key: unknown): Promise<App | undefined> {
    if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(key)) return undefined;
    const now = this.clock();
    const hit = this.cache.get(key);
    if (hit && now - hit.at < TTL_MS) return hit.app?.enabled ? hit.app : undefined;
    const row = await this.db.selectFrom('apps').select(['app_key', 'name', 'secret', 'enabled', 'api']).where('app_key', '=', key).executeTakeFirst();
    const app = row ? { key: row.app_key, name: row.name, secret: row.secret, enabled: Number(row.enabled) === 1, api: row.api === 'goravel-socket' ? ('goravel-socket' as const) : ('woodylan' as const) } : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { app, at: now });
    return app?.enabled ? app : undefined;
  }

  /** The secret of an enabled app (the signed API's check). */
  async get(key: string): Promise<string | undefined> {
    return (await this.enabled(key))?.secret;
  }
}
