/** `user_events`: notifications addressed to one user (Cmd 8, 9, 12, 13, 14), gap-free per user. */
export interface UserEventsTable {
  user_id: number;
  seq: number;
  cmd: number;
  from_id: number;
  to_id: number;
  ope: number;
  body: string;
  created_at: number;
}

/** `read_cursors`: how far a member has read a conversation. */
export interface ReadCursorsTable {
  user_id: number;
  conversation_id: number;
  read_seq: number;
  updated_at: number;
}
