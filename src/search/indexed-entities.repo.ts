import type { Executor } from '../db/database.js';
import { GROUP_COLUMNS, type Group, toGroup } from '../modules/groups/index.js';
import type { IndexedKind } from './search.table.js';

/**
 * Reads of the indexed entities (users, groups) as the search index sees them. Each takes the
 * executor first, so an index update reads the row its transaction just wrote.
 */
export interface IndexedEntity {
  id: number;
  /** The searchable fields: username and nickname, or the group name. */
  fields: string[];
  /** Users only: last reported location. */
  location?: { longitude: number; latitude: number; updatedAt: number } | null;
}

const userColumns = ['id', 'username', 'nickname', 'longitude', 'latitude', 'location_updated_at'] as const;

function userEntity(r: { id: number; username: string; nickname: string; longitude: number | null; latitude: number | null; location_updated_at: number | null }): IndexedEntity {
  const located = r.longitude !== null && r.latitude !== null && r.location_updated_at !== null;
  return {
    id: Number(r.id),
    fields: [r.username, r.nickname],
    location: located ? { longitude: Number(r.longitude), latitude: Number(r.latitude), updatedAt: Number(r.location_updated_at) } : null,
  };
}

/** The entities with these ids that exist (missing ones were deleted). */
export async function loadEntities(db: Executor, kind: IndexedKind, ids: number[]): Promise<IndexedEntity[]> {
  if (ids.length === 0) return [];
  if (kind === 'user') return (await db.selectFrom('users').select(userColumns).where('id', 'in', ids).execute()).map(userEntity);
  // A dissolved group counts as deleted: the index drops it.
  const rows = await db.selectFrom('groups').select(['id', 'name']).where('id', 'in', ids).where('dissolved_at', 'is', null).execute();
  return rows.map((r) => ({ id: Number(r.id), fields: [r.name] }));
}

/** Up to `limit` entities with id greater than `afterId`, in id order (for rebuilding). */
export async function entitiesAfter(db: Executor, kind: IndexedKind, afterId: number, limit: number): Promise<IndexedEntity[]> {
  if (kind === 'user') {
    return (await db.selectFrom('users').select(userColumns).where('id', '>', afterId).orderBy('id').limit(limit).execute()).map(userEntity);
  }
  const rows = await db.selectFrom('groups').select(['id', 'name']).where('id', '>', afterId).where('dissolved_at', 'is', null).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ id: Number(r.id), fields: [r.name] }));
}

export async function countEntities(db: Executor, kind: IndexedKind): Promise<number> {
  const table = kind === 'user' ? 'users' : 'groups';
  const row = await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Groups by id, in the order of `ids`. */
export async function groupsByIds(db: Executor, ids: number[]): Promise<Group[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('groups').select(GROUP_COLUMNS).where('id', 'in', ids).where('dissolved_at', 'is', null).execute();
  const byId = new Map(rows.map((r) => [Number(r.id), toGroup(r)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
