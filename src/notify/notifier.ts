import type { ServerFrame } from './server-frames.js';

export { Cmd, Ope } from './cmd.js';

/**
 * A frame as a reader sees it (clients, tests, the bus): every field any frame may carry. The
 * server builds its frames as `ServerFrame`s (notify/frames.ts); each is a `Frame`.
 */
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
  frame: ServerFrame;
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
