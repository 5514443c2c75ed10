import type { Generated } from 'kysely';

/** Conversation kinds (also the frame's `Ope`). */
export const ConversationKind = { Friend: 0, Group: 1 } as const;

/** `conversations`: a friend pair (`u:<lo>:<hi>`) or a group (`g:<id>`), with its sequence counter. */
export interface ConversationsTable {
  id: Generated<number>;
  conv_key: string;
  kind: number;
  user_lo: number | null;
  user_hi: number | null;
  group_id: number | null;
  last_seq: Generated<number>;
  last_message_at: Generated<number>;
  /** Friend pairs: 1 while their friendship has ended (migration 0028); group conversations: 0. */
  closed: Generated<number>;
}

/** `messages`: one row per message; `seq` is gap-free within its conversation. */
export interface MessagesTable {
  id: Generated<number>;
  conversation_id: number;
  seq: number;
  sender_id: number;
  /** 0 friend, 1 group (the frame's Ope). */
  ope: number;
  /** Recipient user id (friend) or group id (group). */
  to_id: number;
  type: number;
  body: string;
  client_msg_id: string | null;
  created_at: number;
  withdrawn_at: number | null;
  /** The conversation seq the withdraw took (a withdraw is an event of the conversation stream). */
  withdraw_seq: number | null;
}

/** What a stored send returns (and what the ack frame carries). */
export interface StoredMessage {
  id: number;
  /** The conversation the seq belongs to (clients keep one cursor per conversation). */
  conversation_id: number;
  seq: number;
  created_at: number;
}

export function friendConversationKey(a: number, b: number): string {
  return a < b ? `u:${a}:${b}` : `u:${b}:${a}`;
}

export function groupConversationKey(groupId: number): string {
  return `g:${groupId}`;
}
