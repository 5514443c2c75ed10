import type { Client } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import type { Db, Executor } from '../db/database.js';
import type { Group } from '../modules/groups/index.js';
import type { PublicUser } from '../modules/users/index.js';
import { countEntities, entitiesAfter, groupsByIds, type IndexedEntity, loadEntities } from './indexed-entities.repo.js';
import { publicUsersByIds } from '../modules/users/index.js';
import type { IndexChange, PageWindow, SearchIndex } from './search-index.js';
import { enqueueChange, type OutboxEntry, OutboxWorker } from './search-outbox.js';
import type { IndexedKind } from './search.table.js';
import { documentText, normalise } from './search-text.js';

export interface ElasticOptions {
  /** Indexes are `<prefix>_users` and `<prefix>_groups`. */
  indexPrefix: string;
  outboxIntervalMs: number;
  outboxMaxBackoffMs: number;
  log: Pick<Logger, 'warn' | 'info'>;
  clock?: () => number;
}

/**
 * Index mappings. `text` is the same normalised text the SQL index stores (lower-cased fields
 * joined by a newline) in a `wildcard` field, so `*word*` finds any substring, CJK included.
 * Users also carry their last location as a `geo_point` for nearby search.
 */
export const mappings = {
  user: {
    dynamic: 'strict',
    properties: { id: { type: 'long' }, text: { type: 'wildcard' }, location: { type: 'geo_point' }, location_updated_at: { type: 'date', format: 'epoch_millis' } },
  },
  group: { dynamic: 'strict', properties: { id: { type: 'long' }, text: { type: 'wildcard' } } },
} as const;

const REBUILD_BATCH = 1000;

/** A wildcard pattern matching `word` anywhere: `*`, `?` and `\` in the word are escaped. */
export function containsPattern(word: string): string {
  return `*${normalise(word).replace(/[\\*?]/g, (c) => `\\${c}`)}*`;
}

/** The Elasticsearch document of an entity. */
export function documentOf(kind: IndexedKind, entity: IndexedEntity): Record<string, unknown> {
  const doc: Record<string, unknown> = { id: entity.id, text: documentText(entity.fields) };
  if (kind === 'user' && entity.location) {
    doc.location = { lat: entity.location.latitude, lon: entity.location.longitude };
    doc.location_updated_at = entity.location.updatedAt;
  }
  return doc;
}

/**
 * Search by Elasticsearch. Writers record changes in `search_outbox` inside their transaction;
 * the outbox worker delivers each entity's current row as one bulk request after commit and keeps
 * what failed for a retry. Results carry ids from Elasticsearch and profiles from the database.
 */
export class ElasticSearchIndex implements SearchIndex {
  readonly worker: OutboxWorker;
  private mappingsReady = false;
  private readonly clock: () => number;

  constructor(
    private readonly db: Db,
    private readonly client: Client,
    private readonly options: ElasticOptions,
  ) {
    this.clock = options.clock ?? Date.now;
    this.worker = new OutboxWorker(db, (entries) => this.deliver(entries), {
      intervalMs: options.outboxIntervalMs,
      maxBackoffMs: options.outboxMaxBackoffMs,
      log: options.log,
      clock: this.clock,
    });
  }

  indexName(kind: IndexedKind): string {
    return `${this.options.indexPrefix}_${kind}s`;
  }

  async onChange(trx: Executor, change: IndexChange): Promise<void> {
    await enqueueChange(trx, change.kind, change.id, this.clock());
  }

  async searchUsers(word: string, page: PageWindow): Promise<PublicUser[]> {
    return publicUsersByIds(this.db, await this.matchingIds('user', word, page));
  }

  async searchGroups(word: string, page: PageWindow): Promise<Group[]> {
    return groupsByIds(this.db, await this.matchingIds('group', word, page));
  }

  /** Creates missing indexes (an unreachable cluster is logged; the worker tries again). */
  async start(): Promise<void> {
    await this.ensureMappings().catch((err: unknown) => this.options.log.warn({ err }, 'elasticsearch unreachable at start; will retry'));
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
  }

  async ensureMappings(): Promise<void> {
    if (this.mappingsReady) return;
    for (const kind of ['user', 'group'] as const) {
      const index = this.indexName(kind);
      if (!(await this.client.indices.exists({ index }))) await this.client.indices.create({ index, mappings: mappings[kind] });
    }
    this.mappingsReady = true;
  }

  async rebuild(progress: (message: string) => void): Promise<void> {
    for (const kind of ['user', 'group'] as const) {
      const index = this.indexName(kind);
      await this.client.indices.delete({ index, ignore_unavailable: true });
      await this.client.indices.create({ index, mappings: mappings[kind] });
      const total = await countEntities(this.db, kind);
      let done = 0;
      let after = 0;
      for (;;) {
        const batch = await entitiesAfter(this.db, kind, after, REBUILD_BATCH);
        if (batch.length === 0) break;
        const operations = batch.flatMap((e) => [{ index: { _index: index, _id: String(e.id) } }, documentOf(kind, e)]);
        const response = await this.client.bulk({ operations });
        if (response.errors) throw new Error(`elasticsearch rejected part of a rebuild batch of ${kind}s`);
        after = batch.at(-1)!.id;
        done += batch.length;
        progress(`elasticsearch: ${kind}s ${done}/${total}`);
      }
      await this.client.indices.refresh({ index });
    }
    this.mappingsReady = true;
  }

  /** Writes the current row of each entry's entity (or deletes a vanished one) in one bulk request. */
  private async deliver(entries: OutboxEntry[]): Promise<Set<number>> {
    await this.ensureMappings();
    const operations: unknown[] = [];
    const targets: Array<{ kind: IndexedKind; id: number }> = [];
    for (const kind of ['user', 'group'] as const) {
      const ids = [...new Set(entries.filter((e) => e.kind === kind).map((e) => e.entityId))];
      const found = new Map((await loadEntities(this.db, kind, ids)).map((e) => [e.id, e]));
      for (const id of ids) {
        const entity = found.get(id);
        const action = { _index: this.indexName(kind), _id: String(id) };
        operations.push(...(entity ? [{ index: action }, documentOf(kind, entity)] : [{ delete: action }]));
        targets.push({ kind, id });
      }
    }
    const response = await this.client.bulk({ operations: operations as never[] });
    const failed = new Set<string>();
    response.items.forEach((item, i) => {
      const result = item.index ?? item.delete;
      const status = result?.status ?? 500;
      const missingOnDelete = item.delete !== undefined && status === 404;
      if (status >= 300 && !missingOnDelete) failed.add(`${targets[i]!.kind}:${targets[i]!.id}`);
    });
    return new Set(entries.filter((e) => !failed.has(`${e.kind}:${e.entityId}`)).map((e) => e.id));
  }

  private async matchingIds(kind: IndexedKind, word: string, page: PageWindow): Promise<number[]> {
    if ([...word].length < 2) return [];
    const response = await this.client.search({
      index: this.indexName(kind),
      from: page.offset,
      size: page.limit,
      _source: false,
      query: { wildcard: { text: { value: containsPattern(word) } } },
      sort: [{ id: 'asc' }],
    });
    return response.hits.hits.map((hit) => Number(hit._id));
  }
}
