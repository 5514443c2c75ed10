import type { Executor } from '../../db/database.js';
import { type NewUser, type PublicUser, toPublicUser, type UserRow, type UserUpdate } from './users.table.js';

/** Queries on `users`. Each takes the executor first so it joins the caller's transaction. */
export async function insertUser(db: Executor, user: NewUser): Promise<number> {
  const result = await db.insertInto('users').values(user).executeTakeFirstOrThrow();
  return Number(result.insertId);
}

export async function findUserById(db: Executor, id: number): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function findUserByUsername(db: Executor, username: string): Promise<UserRow | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

/** Returns whether a row was updated. */
export async function updateUser(db: Executor, id: number, changes: UserUpdate): Promise<boolean> {
  const result = await db.updateTable('users').set(changes).where('id', '=', id).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Sets the real-name fields only if not yet verified; returns whether it did. */
export async function setRealName(
  db: Executor,
  id: number,
  fields: Required<Pick<UserUpdate, 'real_name' | 'id_card_hmac' | 'id_card_masked' | 'sex' | 'realname_verified_at' | 'updated_at'>>,
): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set(fields)
    .where('id', '=', id)
    .where('realname_verified_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Public users by id, in the order of `ids` (ids that no longer exist are skipped). */
export async function publicUsersByIds(db: Executor, ids: number[]): Promise<PublicUser[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('users').select(['id', 'username', 'nickname', 'avatar', 'sex']).where('id', 'in', ids).execute();
  const byId = new Map(rows.map((r) => [Number(r.id), toPublicUser(r)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

