import type { Generated } from 'kysely';

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
  /** The message of the same conversation this one answers (migration 0031). */
  reply_to: Generated<number | null>;
  /** Group messages: who it mentions, as frames carry it (`[ids]` JSON, or `all`; migration 0032). */
  mentions: Generated<string | null>;
  /** When its body was last edited (migration 0033); null: never. */
  edited_at: Generated<number | null>;
}

/** `message_reactions`: `user_id` reacted to the message with `emoji` (one grapheme). */
export interface MessageReactionsTable {
  message_id: number;
  user_id: number;
  emoji: string;
  created_at: number;
}

/** `reaction_events`: a reaction put on (1) or taken off (0), an event of the conversation stream at `seq`. */
export interface ReactionEventsTable {
  conversation_id: number;
  seq: number;
  message_id: number;
  user_id: number;
  emoji: string;
  on: number;
  created_at: number;
}

/** `message_edits`: an edit of a message, an event of its conversation's stream at `seq`. */
export interface MessageEditsTable {
  conversation_id: number;
  seq: number;
  message_id: number;
  /** The body as that edit set it ('' once the message is withdrawn). */
  body: string;
  edited_at: number;
}

/** `message_mentions`: a user (0: everyone, `all`) mentioned by the message at `seq` of a conversation. */
export interface MessageMentionsTable {
  user_id: number;
  conversation_id: number;
  seq: number;
}

/** What a stored send returns (and what the ack frame carries). */
export interface StoredMessage {
  id: number;
  /** The conversation the seq belongs to (clients keep one cursor per conversation). */
  conversation_id: number;
  seq: number;
  created_at: number;
}
