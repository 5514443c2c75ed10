/** The shapes of the REST answers the app reads (docs/api.md). */
export interface User {
  id: number;
  username: string;
  nickname: string;
  avatar: string;
  sex: number;
}

export interface Group {
  id: number;
  name: string;
  owner_id: number;
  member_count: number;
}

export interface FriendRequest {
  id: number;
  from: User;
  reason: string;
  created_at: number;
}

export interface JoinRequest {
  id: number;
  group_id: number;
  user: User;
  reason: string;
}

export interface Member extends User {
  role: 'owner' | 'admin' | 'member';
}

export interface HistoryItem {
  id: number;
  seq: number;
  from_id: number;
  to_id: number;
  ope: number;
  type: number;
  body: string;
  withdrawn: boolean;
  created_at: number;
  edited_at?: number | null;
}

export interface ConversationItem {
  conversation_id: number;
  ope: number;
  peer: User | null;
  group: Group | null;
  last_seq: number;
  read_seq: number;
  unread: number;
  last_message: HistoryItem | null;
  updated_at: number;
}

/** One message as the chat pane shows it. */
export interface Item {
  seq: number;
  id: number;
  from: number;
  type: number;
  body: string;
  withdrawn: boolean;
  time: number;
  own: boolean;
  /** Edited since sent (Cmd 29, or history's edited_at). */
  edited?: boolean;
}

/** A conversation: a friend (`u:<id>`) or a group (`g:<id>`). */
export interface Conv {
  key: string;
  ope: 0 | 1;
  target: number;
  convId: number | undefined;
  title: string;
  lastSeq: number;
  readSeq: number;
  unread: number;
  last: Item | undefined;
  updatedAt: number;
  /** The highest seq the peer has read (1:1 chats, from Cmd 21). */
  peerRead: number;
  messages: Map<number, Item>;
  /** Undefined until the first history page came. */
  hasMore: boolean | undefined;
}

export type Tab = 'chats' | 'friends' | 'groups' | 'nearby';
