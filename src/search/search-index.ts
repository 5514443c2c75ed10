import type { Executor } from '../db/database.js';
import type { Group } from '../modules/groups/index.js';
import type { PublicUser } from '../modules/users/index.js';
import type { IndexedKind } from './search.table.js';

export type { IndexedKind } from './search.table.js';

/** A user or group whose searchable fields (or location) changed, was created, or was removed. */
export interface IndexChange {
  kind: IndexedKind;
  id: number;
}

/** A page of results: skip `offset`, return at most `limit`. */
export interface PageWindow {
  offset: number;
  limit: number;
}

/** What writers need: the hook they call inside the transaction that changes an indexed entity. */
export interface IndexHook {
  /**
   * Called inside the writing transaction, after the entity's row is written. The SQL index
   * updates its tables in that transaction; the Elasticsearch index records an outbox row there
   * and delivers it after commit, so a rolled-back write never reaches the index.
   */
  onChange(trx: Executor, change: IndexChange): Promise<void>;
}

/**
 * Finds users by username or nickname and groups by name: a result's field contains the word
 * (case-insensitive, any 2+ character substring, CJK included). Results are in id order.
 */
export interface SearchIndex extends IndexHook {
  searchUsers(word: string, page: PageWindow): Promise<PublicUser[]>;
  searchGroups(word: string, page: PageWindow): Promise<Group[]>;
  /** Prepares the backend (Elasticsearch: creates missing index mappings, starts the outbox worker). */
  start(): Promise<void>;
  /** Stops background work (the outbox worker); does not close the database. */
  stop(): Promise<void>;
  /** Rebuilds the whole index from the database, reporting progress (`npm run reindex`). */
  rebuild(progress: (message: string) => void): Promise<void>;
}

/** A nearby user and how far away they are, in whole metres. */
export interface NearbyUser extends PublicUser {
  distance_m: number;
}

export interface NearbyQuery {
  longitude: number;
  latitude: number;
  /** Radius in km. */
  distanceKm: number;
  /** Only locations reported at or after this time (epoch ms). */
  since: number;
  /** Never in the results (the asking user), excluded before paging. */
  excludeUserId: number;
  page: PageWindow;
}

/** Users whose last reported location is within a radius, nearest first (ties by id). */
export interface NearbyIndex {
  nearbyUsers(query: NearbyQuery): Promise<NearbyUser[]>;
}
