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

export function friendConversationKey(a: number, b: number): string {
  return a < b ? `u:${a}:${b}` : `u:${b}:${a}`;
}

export function groupConversationKey(groupId: number): string {
  return `g:${groupId}`;
}
