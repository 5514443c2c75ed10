import type { Logger } from 'pino';
import type { Db, Executor } from '../db/database.js';
import { type IndexedKind, kindCodes, kindOfCode } from './search.table.js';

/** One pending index update. */
export interface OutboxEntry {
  id: number;
  kind: IndexedKind;
  entityId: number;
  attempts: number;
}

/** Records, inside the caller's transaction, that an entity's document must be rewritten. */
export async function enqueueChange(db: Executor, kind: IndexedKind, entityId: number, now: number): Promise<void> {
  await db.insertInto('search_outbox').values({ kind: kindCodes[kind], entity_id: entityId, attempts: 0, next_attempt_at: now, created_at: now }).execute();
}

export async function dueEntries(db: Executor, now: number, limit: number): Promise<OutboxEntry[]> {
  const rows = await db.selectFrom('search_outbox').selectAll().where('next_attempt_at', '<=', now).orderBy('next_attempt_at').orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: Number(r.id), kind: kindOfCode[Number(r.kind)]!, entityId: Number(r.entity_id), attempts: Number(r.attempts) }));
}

export async function pendingCount(db: Executor): Promise<number> {
  const row = await db.selectFrom('search_outbox').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Delivers a batch of entries; resolves to the ids of the entries now reflected in the index.
 * Throwing means none were.
 */
export type DeliverEntries = (entries: OutboxEntry[]) => Promise<Set<number>>;

export interface OutboxWorkerOptions {
  intervalMs: number;
  maxBackoffMs: number;
  batchSize?: number;
  log: Pick<Logger, 'warn'>;
  clock?: () => number;
}

/**
 * Drains `search_outbox` after commit: every interval it delivers the due entries, deletes the
 * delivered ones and pushes the rest back with exponential backoff (interval × 2^attempts, capped),
 * so an outage of the index loses nothing and a later run delivers it. Two nodes may deliver the
 * same entry; delivery writes the entity's current state, so that is harmless.
 */
export class OutboxWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;
  private readonly clock: () => number;

  constructor(
    private readonly db: Db,
    private readonly deliver: DeliverEntries,
    private readonly options: OutboxWorkerOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops polling and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass over the due entries; returns how many were delivered and how many wait for a retry. */
  async runOnce(): Promise<{ delivered: number; failed: number }> {
    const now = this.clock();
    const entries = await dueEntries(this.db, now, this.options.batchSize ?? 500);
    if (entries.length === 0) return { delivered: 0, failed: 0 };
    let delivered: Set<number>;
    try {
      delivered = await this.deliver(entries);
    } catch (err) {
      this.options.log.warn({ err, entries: entries.length }, 'search index unreachable; updates kept in the outbox');
      delivered = new Set();
    }
    const failed = entries.filter((e) => !delivered.has(e.id));
    if (delivered.size > 0) await this.db.deleteFrom('search_outbox').where('id', 'in', [...delivered]).execute();
    for (const entry of failed) {
      const backoff = Math.min(this.options.maxBackoffMs, this.options.intervalMs * 2 ** entry.attempts);
      await this.db
        .updateTable('search_outbox')
        .set({ attempts: entry.attempts + 1, next_attempt_at: now + backoff })
        .where('id', '=', entry.id)
        .execute();
    }
    return { delivered: delivered.size, failed: failed.length };
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runOnce()
        .catch((err: unknown) => this.options.log.warn({ err }, 'search outbox run failed'))
        .finally(() => this.schedule());
    }, this.options.intervalMs);
    this.timer.unref();
  }
}
