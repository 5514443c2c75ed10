import type { Generated, GeneratedAlways, Insertable, Selectable, Updateable } from 'kysely';

/** `users`: one row per account. Times are epoch milliseconds. */
export interface UsersTable {
  id: Generated<number>;
  /** Lower-cased, unique, 6–20 of [a-z0-9_]. */
  username: string;
  password_hash: string;
  nickname: string;
  avatar: Generated<string>;
  /** 0 unknown, 1 male, 2 female. */
  sex: Generated<number>;
  real_name: string | null;
  /** HMAC-SHA256 of the ID-card number; the number itself is never stored. */
  id_card_hmac: string | null;
  /** The ID-card number with all but the first 3 and last 4 characters masked. */
  id_card_masked: string | null;
  realname_verified_at: number | null;
  longitude: number | null;
  latitude: number | null;
  location_updated_at: number | null;
  /** floor((latitude + 90) * 100), computed by the database: the 0.01° band nearby queries walk. */
  geo_strip: GeneratedAlways<number | null>;
  created_at: number;
  updated_at: number;
  /** Last seq of this user's event stream (user_events). */
  event_seq: Generated<number>;
  /** Tokens issued before this (epoch ms) are refused: every session before it ended. */
  sessions_valid_after: Generated<number>;
  /** When the operator banned the account (admin API; null: not banned): login is refused. */
  banned_at: Generated<number | null>;
  /** Told to the user at a refused login. */
  ban_reason: Generated<string>;
  /** 0: offline notifications say "New message" instead of the text (migration 0041). */
  push_previews: Generated<number>;
}

export type UserRow = Selectable<UsersTable>;
export type NewUser = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;

/** The public user shape of API.md. */
export interface PublicUser {
  id: number;
  username: string;
  nickname: string;
  avatar: string;
  sex: number;
}

/** What a user sees about themself (`/user/info` without user_id). */
export interface SelfUser extends PublicUser {
  real_name_verified: boolean;
  /** Masked, e.g. 110***********1234; null until verified. */
  id_card_masked: string | null;
  location_updated_at: number | null;
  created_at: number;
}

export function toPublicUser(row: Pick<UserRow, 'id' | 'username' | 'nickname' | 'avatar' | 'sex'>): PublicUser {
  return { id: Number(row.id), username: row.username, nickname: row.nickname, avatar: row.avatar, sex: Number(row.sex) };
}

export function toSelfUser(row: UserRow): SelfUser {
  return {
    ...toPublicUser(row),
    real_name_verified: row.realname_verified_at !== null,
    id_card_masked: row.id_card_masked,
    location_updated_at: row.location_updated_at === null ? null : Number(row.location_updated_at),
    created_at: Number(row.created_at),
  };
}
