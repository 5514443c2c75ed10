import { createRequire } from 'node:module';
import { Client } from '@elastic/elasticsearch';
import { distanceMetres } from '../../src/search/geo.js';

/**
 * An Elasticsearch stand-in over @elastic/elasticsearch-mock: the real client, with its HTTP
 * layer answered here. It keeps documents in memory and answers exactly the request shapes the
 * weim adapters send (index create/exists/delete/refresh, _bulk index/delete, _search with a
 * `wildcard` on `text`, or a bool of `geo_distance` + `range` filters and a `must_not` term,
 * sorted by `id` or `_geo_distance` then `id`). Anything else is answered 400 so a changed query
 * shape fails loudly. It proves how the adapters talk to Elasticsearch, not how Elasticsearch
 * behaves: real analysis, scoring and wildcard performance are not exercised.
 */
// The mock throws errors of the CommonJS build of the client (the ESM build's classes differ).
const require = createRequire(import.meta.url);
const { errors } = require('@elastic/elasticsearch') as typeof import('@elastic/elasticsearch');
const Mock = require('@elastic/elasticsearch-mock') as new () => {
  add(pattern: { method: string; path: string }, resolver: (params: any) => unknown): void;
  getConnection(): any;
};

type Doc = Record<string, any>;
interface Request {
  method: string;
  path: string;
  body?: any;
}

export class ElasticMock {
  readonly client: Client;
  readonly indices = new Map<string, { mappings: unknown; docs: Map<string, Doc> }>();
  /** Every request, in order. */
  readonly requests: Request[] = [];
  /** While set, every request fails this way. */
  outage: 'http-503' | 'connection' | undefined;
  /** Ids whose bulk items fail with 429 (per-item rejection). */
  readonly rejectIds = new Set<string>();

  constructor() {
    const mock = new Mock();
    this.client = new Client({ node: 'http://127.0.0.1:9200', Connection: mock.getConnection(), maxRetries: 0 });
    const route = (method: string, path: string, handler: (params: Request & { path: string }) => unknown) =>
      mock.add({ method, path }, (params: any) => {
        this.requests.push({ method, path: params.path, body: params.body });
        if (this.outage === 'connection') return new errors.ConnectionError('connect ECONNREFUSED 127.0.0.1:9200');
        if (this.outage === 'http-503') return new errors.ResponseError({ body: { error: 'unavailable', status: 503 }, statusCode: 503 } as never);
        return handler(params);
      });
    const name = (path: string) => decodeURIComponent(path.split('/')[1]!);
    route('HEAD', '/:index', (p) => (this.indices.has(name(p.path)) ? '' : this.notFound()));
    route('PUT', '/:index', (p) => {
      this.indices.set(name(p.path), { mappings: p.body?.mappings, docs: new Map() });
      return { acknowledged: true, index: name(p.path) };
    });
    route('DELETE', '/:index', (p) => (this.indices.delete(name(p.path)), { acknowledged: true }));
    for (const method of ['GET', 'POST']) route(method, '/:index/_refresh', () => ({ _shards: { failed: 0 } }));
    route('POST', '/_bulk', (p) => this.bulk(p.body as Doc[]));
    route('POST', '/:index/_search', (p) => this.search(name(p.path), p.body));
  }

  docs(index: string): Map<string, Doc> {
    return this.indices.get(index)?.docs ?? new Map();
  }

  private notFound() {
    return new errors.ResponseError({ body: { error: 'index_not_found_exception', status: 404 }, statusCode: 404 } as never);
  }

  private bulk(lines: Doc[]) {
    const items: Doc[] = [];
    for (let i = 0; i < lines.length; i++) {
      const [op, action] = Object.entries(lines[i]!)[0]! as [string, { _index: string; _id: string }];
      const index = this.indices.get(action._index);
      if (op === 'index') {
        const doc = lines[++i]!;
        const status = this.rejectIds.has(action._id) ? 429 : index ? 201 : 404;
        if (status === 201) index!.docs.set(action._id, doc);
        items.push({ index: { _index: action._index, _id: action._id, status } });
      } else if (op === 'delete') {
        const existed = index?.docs.delete(action._id) ?? false;
        items.push({ delete: { _index: action._index, _id: action._id, status: existed ? 200 : 404 } });
      } else {
        return new errors.ResponseError({ body: { error: `unsupported bulk op ${op}` }, statusCode: 400 } as never);
      }
    }
    return { errors: items.some((item) => (item.index ?? item.delete).status >= 300 && !(item.delete && item.delete.status === 404)), items };
  }

  private search(indexName: string, body: any) {
    const index = this.indices.get(indexName);
    if (!index) return this.notFound();
    let hits: Array<{ id: string; doc: Doc; sort: number[] }>;
    const wildcard = body.query?.wildcard?.text?.value;
    const bool = body.query?.bool;
    if (typeof wildcard === 'string') {
      const pattern = wildcardRegex(wildcard);
      hits = [...index.docs].filter(([, d]) => pattern.test(d.text)).map(([id, doc]) => ({ id, doc, sort: [doc.id] }));
    } else if (bool?.filter?.[0]?.geo_distance && bool.filter[1]?.range?.location_updated_at && bool.must_not?.[0]?.term?.id !== undefined) {
      const { distance, location } = bool.filter[0].geo_distance;
      const radius = Number(/^([\d.]+)km$/.exec(distance)![1]) * 1000;
      const since = bool.filter[1].range.location_updated_at.gte;
      const excluded = bool.must_not[0].term.id;
      hits = [...index.docs]
        .filter(([, d]) => d.location && d.location_updated_at >= since && d.id !== excluded)
        .map(([id, doc]) => ({ id, doc, sort: [distanceMetres(location.lat, location.lon, doc.location.lat, doc.location.lon), doc.id] }))
        .filter((h) => h.sort[0]! <= radius);
    } else {
      return new errors.ResponseError({ body: { error: 'query shape not emulated', query: body.query }, statusCode: 400 } as never);
    }
    hits.sort((a, b) => a.sort[0]! - b.sort[0]! || a.doc.id - b.doc.id);
    const page = hits.slice(body.from ?? 0, (body.from ?? 0) + (body.size ?? 10));
    return {
      took: 1,
      timed_out: false,
      hits: { total: { value: hits.length, relation: 'eq' }, hits: page.map((h) => ({ _index: indexName, _id: h.id, _score: null, sort: h.sort })) },
    };
  }
}

/** Elasticsearch wildcard syntax (`*`, `?`, `\` escapes) as an anchored regular expression. */
function wildcardRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') out += escapeRegex(pattern[++i] ?? '');
    else if (c === '*') out += '[\\s\\S]*';
    else if (c === '?') out += '[\\s\\S]';
    else out += escapeRegex(c);
  }
  return new RegExp(`^${out}$`, 'u');
}

function escapeRegex(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
