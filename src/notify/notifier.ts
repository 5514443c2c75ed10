/**
 * weIm-go's server → client commands (API.md §3). Numbers from 15 up are weim's own; every new
 * one is documented in docs/protocol.md.
 */
export const Cmd = {
  Fail: 2,
  Sign: 3,
  SignSuccess: 4,
  FriendMessage: 6,
  FriendMessageWithdrawn: 7,
  FriendRequest: 8,
  FriendAccepted: 9,
  GroupMessage: 10,
  GroupMessageWithdrawn: 11,
  GroupJoinRequest: 12,
  GroupJoinAccepted: 13,
  GroupKicked: 14,
  /** weim: a friend's first device came online or last went offline (Body "online" / "offline"). */
  Presence: 19,
  /** weim: someone read a conversation up to `Seq` (the peer in 1:1 chats, and the reader's other devices). */
  ReadNotice: 21,
  /** weim: a business backend's push (the push API): `Body` as it was sent. */
  ServerPush: 25,
  /** weim, to sockets that declared the `typing` feature (features.ts): `FromId` is typing (not stored). */
  TypingNotice: 28,
  /** weim, to sockets that declared the `edit` feature: message `Id` now reads `Body` (an event of the conversation stream at `Seq`). */
  MessageEdited: 29,
  /** weim, to sockets that declared `reactions`: `FromId` put (`On` 1) or took off (0) emoji `Body` on message `Id` (a stream event at `Seq`). */
  ReactionChanged: 30,
  /** weim, to sockets that declared `group-events`: the owner or an admin did `Body` (admin, mute, mute_all, transfer) to `Target` (a stream event at `Seq`). */
  GroupEvent: 31,
} as const;

/** Ope: the channel a frame belongs to. */
export const Ope = { Friend: 0, Group: 1, System: 2 } as const;

/** A frame as weIm-go clients read it; servers may add fields, clients ignore unknown ones. */
export interface Frame {
  Cmd: number;
  FromId: number;
  ToId: number;
  Ope: number;
  Type: number;
  Body: string;
  Id?: number;
  /** Position in the conversation stream (Cmd 6, 7, 10, 11). */
  Seq?: number;
  ConvId?: number;
  /** Position in the recipient's event stream (Cmd 8, 9, 12, 13, 14). */
  EventSeq?: number;
  Time?: number;
  Withdrawn?: boolean;
  /** In a sync, on the sender's own messages: the id the device sent it with. */
  ClientMsgId?: string;
  /** On a message that answers another of its conversation: that message's id. */
  ReplyTo?: number;
  /** On a group message that mentions members: their ids, or `all`. */
  Mentions?: number[] | 'all';
  /** Cmd 30: 1 the reaction was put on, 0 taken off. */
  On?: number;
  /** Cmd 31: the member the event is about (0: none). */
  Target?: number;
  /** Cmd 31: admin 1/0, mute: muted until (epoch ms, 0 lifted), mute_all 1/0, transfer 0. */
  Value?: number;
}

/** "Deliver this frame to every device of these users." */
export interface Notification {
  userIds: number[];
  frame: Frame;
  /** The sending device, which already knows: a socket id, or every socket of the sending token. */
  except?: { connectionId?: string; jti?: string };
  /** Where the frame sits in a stream: `c<conversation id>` or `e` (the recipient's events), and its seq. */
  stream?: StreamPosition;
  /**
   * Only for sockets that declared this feature at sign-in (notify/features.ts). With a `stream`,
   * the other sockets' streams move past the frame (they are not sent it, and expect no gap).
   */
  feature?: string;
}

export interface StreamPosition {
  key: string;
  seq: number;
}

/**
 * Where services hand events after their transaction commits. Delivery is best effort (the sync
 * API is the guarantee), so `notify` never throws into the caller.
 */
export interface Notifier {
  notify(notification: Notification): void;
}
