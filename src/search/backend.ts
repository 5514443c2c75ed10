import type { Client } from '@elastic/elasticsearch';
import { Client as ElasticClient } from '@elastic/elasticsearch';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { NearbyIndex, SearchIndex } from './index.js';
import { ElasticNearbyIndex } from './nearby-index.elastic.js';
import { SqlNearbyIndex } from './nearby-index.sql.js';
import { ElasticSearchIndex } from './search-index.elastic.js';
import { SqlSearchIndex } from './search-index.sql.js';

export interface SearchBackend {
  index: SearchIndex;
  nearby: NearbyIndex;
}

/**
 * The search and nearby indexes that config.search.backend names (also used by `npm run reindex`).
 * `reads`: where the SQL indexes run their searches (DbHandle.openReader); `db` by default.
 */
export function createSearchBackend(config: Config, db: Db, log: Logger, elasticClient?: Client, reads: Db = db): SearchBackend {
  const backend = config.search.backend;
  switch (backend) {
    case 'sql':
      return { index: new SqlSearchIndex(db, reads), nearby: new SqlNearbyIndex(reads) };
    case 'elastic': {
      const client = elasticClient ?? new ElasticClient({ node: config.search.elastic_url, maxRetries: 0, requestTimeout: 10_000 });
      const index = new ElasticSearchIndex(db, client, {
        indexPrefix: config.search.elastic_index_prefix,
        outboxIntervalMs: config.search.outbox_interval_ms,
        outboxMaxBackoffMs: config.search.outbox_max_backoff_ms,
        log,
      });
      return { index, nearby: new ElasticNearbyIndex(db, client, index.indexName('user')) };
    }
    default:
      throw new Error(`unknown search backend ${(backend satisfies never) as string}`);
  }
}
