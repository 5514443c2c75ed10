/**
 * Every command of the WebSocket protocol, both ways, in one catalog: weIm-go's (API.md §3) below
 * 15, weim's own from 15 up (docs/protocol.md). The client frames are parsed by the zod union in
 * gateway/protocol.ts, the server frames are built by notify/frames.ts; both name their Cmd from here.
 */
export const Cmd = {
  /** s→c: refused; Body says why. */
  Fail: 2,
  /** c→s: sign in with a token (optional Sync and Features). */
  Sign: 3,
  /** s→c: signed in. */
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
  /** c→s: application-level ping (browsers cannot send WebSocket pings). */
  Ping: 15,
  /** s→c: answer to Ping. */
  Pong: 16,
  /** c→s: send a message over the socket. */
  Send: 17,
  /** s→c: the message of a Send was stored; carries Id, Seq, Time, ClientMsgId. */
  SendAck: 18,
  /** s→c: a friend's first device came online or last went offline (Body "online" / "offline"). */
  Presence: 19,
  /** c→s: mark a conversation read up to `Seq` (`ConvId`). */
  Read: 20,
  /** s→c: someone read a conversation up to `Seq` (the peer in 1:1 chats, and the reader's other devices). */
  ReadNotice: 21,
  /** c→s: send me what I missed since these cursors (`Token` or `Cursors` + `EventSeq`). */
  Sync: 22,
  /** s→c: the sync is complete; Body = token of the cursors after it. */
  SyncDone: 23,
  /** s→c: pushes to this socket may have been lost (the node's bus link dropped); sync now. */
  SyncNeeded: 24,
  /** s→c: a business backend's push (the push API): `Body` as it was sent. */
  ServerPush: 25,
  /** s→c: this node is shutting down and closes the socket (1012) in `Body` ms; reconnect then, or sooner. */
  Reconnect: 26,
  /** c→s: I am typing to `ToId` (a friend, Ope 0, or a group, Ope 1). Not stored. */
  Typing: 27,
  /** s→c, feature `typing`: `FromId` is typing to you or in group `ToId` (not stored). */
  TypingNotice: 28,
  /** s→c, feature `edit`: message `Id` now reads `Body` (an event of the conversation stream at `Seq`). */
  MessageEdited: 29,
  /** s→c, feature `reactions`: `FromId` put (`On` 1) or took off (0) emoji `Body` on message `Id` (a stream event at `Seq`). */
  ReactionChanged: 30,
  /** s→c, feature `group-events`: `FromId` did `Body` to `Target` in group `ToId` (a stream event at `Seq`). */
  GroupEvent: 31,
} as const;

export type CmdNumber = (typeof Cmd)[keyof typeof Cmd];

/** Ope: the channel a frame belongs to. */
export const Ope = { Friend: 0, Group: 1, System: 2 } as const;
