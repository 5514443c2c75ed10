import type { Generated } from 'kysely';

/** `friends`: one row per direction of a friendship. */
export interface FriendsTable {
  user_id: number;
  friend_id: number;
  created_at: number;
}

/** Request states. */
export const RequestStatus = { Pending: 0, Accepted: 1, Rejected: 2 } as const;

/** `friend_requests`: the latest request between an unordered pair (user_lo < user_hi). */
export interface FriendRequestsTable {
  id: Generated<number>;
  user_lo: number;
  user_hi: number;
  from_uid: number;
  to_uid: number;
  channel: Generated<string>;
  reason: Generated<string>;
  status: Generated<number>;
  created_at: number;
  updated_at: number;
}
