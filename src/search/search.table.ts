import type { Generated } from 'kysely';

/** What the index holds: users (by username and nickname) and groups (by name). */
export type IndexedKind = 'user' | 'group';

/** How each kind is stored in the `kind` columns. */
export const kindCodes: Record<IndexedKind, number> = { user: 1, group: 2 };
export const kindOfCode: Record<number, IndexedKind> = { 1: 'user', 2: 'group' };

/** `search_docs`: the normalised text of one entity (lower-cased fields joined by a newline). */
export interface SearchDocsTable {
  kind: number;
  entity_id: number;
  text: string;
}

/** `search_grams`: one row per distinct character bigram and trigram of an entity's text. */
export interface SearchGramsTable {
  kind: number;
  gram: string;
  entity_id: number;
}

/** `search_outbox`: an entity whose Elasticsearch document must be (re)written or deleted. */
export interface SearchOutboxTable {
  id: Generated<number>;
  kind: number;
  entity_id: number;
  attempts: Generated<number>;
  next_attempt_at: number;
  created_at: number;
}
