import type { Generated } from 'kysely';

/** `groups`. `member_count` is kept in step with `group_members` inside each transaction. */
export interface GroupsTable {
  id: Generated<number>;
  name: string;
  owner_id: number;
  member_count: Generated<number>;
  created_at: number;
  updated_at: number;
  /** 1: only the owner and admins may send (migration 0035). */
  muted_all: Generated<number>;
  /** The group's announcement (migration 0036). */
  notice: Generated<string>;
  /** When the owner dissolved it (migration 0037); null: it lives. */
  dissolved_at: Generated<number | null>;
  /** JoinMode (migration 0038). */
  join_mode: Generated<number>;
  /** The group's picture, a URL ('' none; migration 0038). */
  avatar: Generated<string>;
}

/** How people become members: a request that waits for approval, a request that joins at once, or only an invitation. */
export const JoinMode = { Approval: 0, Open: 1, Invite: 2 } as const;
export const joinModeNames = ['approval', 'open', 'invite'] as const;
export type JoinModeName = (typeof joinModeNames)[number];

/** `group_events`: an administration event of the group, in its conversation's stream at `seq`. */
export interface GroupEventsTable {
  conversation_id: number;
  seq: number;
  group_id: number;
  actor_id: number;
  /** `admin`, `mute`, `mute_all`, `transfer`, `update`, `dissolve`, `join`, `invite`, `leave`, `kick`. */
  kind: string;
  /** The member it is about (0: none, as for mute_all). */
  user_id: Generated<number>;
  /** admin: 1/0; mute: muted until (epoch ms, 0 lifted); mute_all: 1/0; update: the join mode; others 0. */
  value: Generated<number>;
  created_at: number;
}

/** Member roles as stored; the API shows them as names. */
export const Role = { Member: 0, Admin: 1, Owner: 2 } as const;
export const roleNames: Record<number, 'member' | 'admin' | 'owner'> = { 0: 'member', 1: 'admin', 2: 'owner' };

export interface GroupMembersTable {
  group_id: number;
  user_id: number;
  role: Generated<number>;
  joined_at: number;
  /** The group conversation's seq when the member joined: history starts after it. */
  joined_seq: Generated<number>;
  /** Muted until (epoch ms; 0 or past: not muted), set by the owner or an admin (migration 0035). */
  muted_until: Generated<number>;
}

export const JoinStatus = { Pending: 0, Accepted: 1, Rejected: 2 } as const;

/** `group_join_requests`: the latest request of one user to one group. */
export interface GroupJoinRequestsTable {
  id: Generated<number>;
  group_id: number;
  user_id: number;
  reason: Generated<string>;
  status: Generated<number>;
  handled_by: number | null;
  created_at: number;
  updated_at: number;
}

/** The group shape of the API. */
export interface Group {
  id: number;
  name: string;
  owner_id: number;
  member_count: number;
  created_at: number;
  avatar: string;
  join_mode: JoinModeName;
}

/** The columns `toGroup` reads. */
export const GROUP_COLUMNS = ['id', 'name', 'owner_id', 'member_count', 'created_at', 'avatar', 'join_mode'] as const;

export function toGroup(row: { id: number; name: string; owner_id: number; member_count: number; created_at: number; avatar: string; join_mode: number }): Group {
  return {
    id: Number(row.id), name: row.name, owner_id: Number(row.owner_id), member_count: Number(row.member_count), created_at: Number(row.created_at),
    avatar: row.avatar, join_mode: joinModeNames[Number(row.join_mode)] ?? 'approval',
  };
}
