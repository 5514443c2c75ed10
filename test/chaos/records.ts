/** What a chaos device records: plain data, checked by verify.ts against the database. */

/** One stream frame (Cmd 6, 7, 10, 11) as a device received it. `live`: outside any sync. */
export interface FrameRecord { convId: number; seq: number; id: number; live: boolean; at: number; socketNo: number }
/** The answer (Cmd 18) to one of the device's sends. `attempts`: frames written for it in all. */
export interface AckRecord { clientMsgId: string; id: number; convId: number; seq: number; at: number; attempts: number; afterSocketLoss: boolean }
export interface Refusal { clientMsgId: string; body: string; code: number | undefined; at: number }

/** Everything a device saw, for the verification (plain data, no behaviour). */
export interface DeviceRecord {
  name: string;
  userId: number;
  home: number;
  frames: FrameRecord[];
  acks: AckRecord[];
  refusals: Refusal[];
  /** Arrival times of Cmd 24. */
  syncNeeded: number[];
  /** Cmd 2 (no ClientMsgId) answering a running sync: the sync ended without Cmd 23. */
  syncFailures: Array<{ at: number; body: string }>;
  /** Cmd 2 before Cmd 4, or no Cmd 4 within 10 s: the socket is dropped and the device reconnects. */
  signInFailures: Array<{ at: number; body: string }>;
  connects: Array<{ at: number; node: number; socketNo: number }>;
  closes: Array<{ at: number; code: number; socketNo: number }>;
  /** Retryable answers (1503/1005/"service temporarily unavailable"/"too many requests") and 10 s timeouts. */
  retries: number;
  timeouts: number;
  /** A second Cmd 18 for a ClientMsgId that disagreed with the first. */
  ackConflicts: string[];
  /** Syncs that ran over 30 s without Cmd 23 (the device does not act on it, only reports). */
  stuckSyncs: number;
  sent: number;
  /** ClientMsgIds still unanswered when the device stopped. */
  unanswered: string[];
  /** Sends cut off by a reconnect whose answer was their own frame in the sign-in sync (it carries the ClientMsgId). */
  settledBySync: number;
}
