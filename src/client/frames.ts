// A type only (erased at build): the frame the server's notifier sends.
import type { Frame } from '../notify/notifier.js';

/** At most this many seqs in a sync's `Held`, over every conversation (docs/protocol.md; the server refuses more). */
export const MAX_HELD_SEQS = 1000;

/** A frame as the server sends it (docs/protocol.md), with what acks, refusals and syncs add. */
export interface ServerFrame extends Frame {
  ClientMsgId?: string;
  /** On Cmd 2: the envelope code of the refusal (1005 rate limited, 1503 retry, …). */
  Code?: number;
  /** On Cmd 2: the rule broken, a stable key (docs/errors.md). */
  Reason?: string;
  /** On Cmd 23: the sync has more pages. */
  More?: boolean;
}

/**
 * A conversation item (Cmd 6 friend message, 7 its withdrawal, 10 group message, 11 its
 * withdrawal, 29 an edit: message `Id` now reads `Body`, 30 a reaction `Body` put on (`On` 1) or taken off
 * message `Id`, 31 a group event: `Body` join, leave, kick, invite, admin, mute, …), delivered once and in `Seq` order per conversation. `own`: sent by this user (from
 * this device, once acked, or from another device's send seen in a sync).
 */
export interface MessageFrame extends ServerFrame {
  ConvId: number;
  Seq: number;
  own?: boolean;
}

/** The answer to a send: the stored message's id and place. */
export interface SendAck {
  Id: number;
  ConvId: number;
  Seq: number;
  Time: number;
}

export type ConnectionState = 'connecting' | 'syncing' | 'online' | 'offline' | 'signed-out' | 'stopped';

/** What a `WeimClient` emits. */
export interface ClientEvents extends Record<string, unknown> {
  /** Conversation items, each once, in order per conversation. */
  message: MessageFrame;
  /** Event-stream items (friend requests 8/9, group events 12–14, server pushes 25), each once, in order. */
  event: ServerFrame;
  presence: { userId: number; online: boolean };
  read: { userId: number; convId: number; seq: number };
  /** Cmd 28: `userId` is typing to this user (`ope` 0) or in group `toId` (`ope` 1). Show it for ~6 s. */
  typing: { userId: number; toId: number; ope: 0 | 1 };
  state: ConnectionState;
  closed: { code: number };
  /** Every frame as it arrived (before ordering), for what the typed events do not cover. */
  frame: ServerFrame;
  error: Error;
}
