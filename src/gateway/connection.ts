import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { AppError } from '../errors.js';
import type { Locale } from '../i18n.js';
import { failFrame } from '../notify/frames.js';
import type { StreamPosition } from '../notify/notifier.js';
import type { ServerFrame } from '../notify/server-frames.js';
import type { FrameLimits } from './frame-limits.js';
import { type FeatureName, NO_FEATURES } from '../notify/features.js';
import { CloseCode } from './protocol.js';
import { StreamOrder } from './stream-order.js';
import { type OrderedFrame, textFrame } from './wire-frame.js';

/** Connection ids are unique across the cluster: an `except` travels to other nodes with a frame. */
const ID_PREFIX = randomBytes(6).toString('base64url');
let nextId = 0;
const SETTLED: Promise<void> = Promise.resolve();

/** Bytes of frames `sendAll` joins into one write at most. */
const SEND_ALL_CHUNK = 64 * 1024;

/** Live frames held while a sync runs; past this the socket is closed and must sync again. */
const MAX_HELD = 10_000;

/** How a socket orders its streams: how long early frames wait, and who repairs a gap. */
export interface StreamRepairPort {
  /** How long a frame that came early waits for the seqs before it before they are read from the database. */
  waitMs: number;
  /** Reads what `keys` miss from the database and hands it to `connection.repaired`; false if it could not. */
  repair(connection: Connection, keys: readonly string[]): Promise<boolean>;
}

/**
 * One socket. Sends never block: a socket whose unsent bytes would pass `maxBufferedBytes` is a
 * slow consumer and is cut off at once (no close frame: it would wait behind the unread bytes),
 * so it cannot hold memory or stall anyone else. Too much traffic during a sync closes it with
 * 4008 when its buffer has room for the close frame.
 *
 * Streams: every conversation's and event stream's frames reach the socket once and in seq order
 * (`StreamOrder`): duplicates are dropped, and a frame that comes early waits `waitMs` for the ones
 * before it, which are then read from the database (`StreamRepairPort`). While a sync runs, live
 * stream frames are held and sent after it, less those the sync sent.
 */
export class Connection {
  readonly id = `${ID_PREFIX}.${++nextId}`;
  userId: number | undefined;
  jti: string | undefined;
  /** When its token was issued (epoch ms): a user ending every session ends those issued before. */
  issuedAtMs = 0;
  /** Token expiry (epoch seconds). */
  expiresAt = 0;
  alive = true;
  /** When the heartbeat last pinged it (epoch ms). */
  pingedAt = 0;
  badFrames = 0;
  /** A Cmd 3 is being handled (its token checked): another one is refused meanwhile. */
  signingIn = false;
  /** The key its user's socket count holds it under, once counted (released when it closes). */
  countedAs: string | undefined;
  /** Its limits on Cmd 15, 22 and 27 frames. */
  limits: FrameLimits | undefined;
  /** What it declared it understands at sign-in (features.ts): none for weIm-go's clients. */
  features: ReadonlySet<FeatureName> = NO_FEATURES;
  /** The language of its Cmd 2 texts: the upgrade's Accept-Language, then the sign-in's `Lang`. */
  locale: Locale = 'zh';
  /** The chain of this socket's ordered frames (sends, reads) being handled. */
  serial: Promise<void> = SETTLED;
  /** Live stream frames held while a sync runs. */
  private held: OrderedFrame[] | undefined;
  private readonly order = new StreamOrder();
  private gapTimer: NodeJS.Timeout | undefined;
  private repairing = false;
  /** Positions the device sent while a sync ran (the sync must not send them back). */
  private ownDuringSync: Set<string> | undefined;
  /** Repairs that failed in a row (the database out of reach): the next waits longer. */
  private repairFailures = 0;

  /**
   * `socket`: the socket the upgrade handed to `ws`, to write whole frames built once for many
   * sockets (wire-frame.ts). That is safe because, with per-message deflate off (gateway.ts) and
   * no Blob sent, `ws` writes each of its frames to the socket at once and queues nothing, so a
   * frame written here lands between two of its frames, and only while it is OPEN (before any
   * close frame).
   */
  constructor(
    readonly ws: WebSocket,
    private readonly socket: Duplex,
    private readonly maxBufferedBytes: number,
    private readonly streams?: StreamRepairPort,
  ) {}

  get signedIn(): boolean {
    return this.userId !== undefined;
  }

  get syncing(): boolean {
    return this.held !== undefined;
  }

  /** Sends one server frame (notify/frames.ts builds them); returns false if the socket was closed instead. */
  sendFrame(frame: ServerFrame): boolean {
    return this.send(JSON.stringify(frame));
  }

  /** Cmd 2 for a refused frame, in the socket's language. */
  fail(error: AppError, clientMsgId?: string): boolean {
    return this.sendFrame(failFrame(error, this.locale, clientMsgId));
  }

  /**
   * Sends a serialised frame; returns false if the socket was closed instead. Written whole, as
   * one buffer (`textFrame`), like the live frames, so every frame takes one write path (`ws.send`
   * corks the socket and writes header and payload apart; the difference on the gateway bench was
   * within the spread between runs, docs/benchmarks.md).
   */
  send(payload: string): boolean {
    return this.write(textFrame(payload));
  }

  /**
   * Sends serialised frames in order, as few writes as they fit in (up to `SEND_ALL_CHUNK` bytes a
   * write; each write is a system call, which a sync page paid per frame), waiting between writes
   * while the socket's unsent bytes are over half the cap (`drain`). False if the socket was closed
   * instead.
   */
  async sendAll(payloads: readonly string[]): Promise<boolean> {
    let parts: Buffer[] = [];
    let bytes = 0;
    for (let i = 0; i < payloads.length; i++) {
      const frame = textFrame(payloads[i]!);
      parts.push(frame);
      bytes += frame.length;
      if (bytes < SEND_ALL_CHUNK && i < payloads.length - 1) continue;
      if (!this.write(parts.length === 1 ? frame : Buffer.concat(parts, bytes))) return false;
      parts = [];
      bytes = 0;
      if (this.ws.bufferedAmount > this.maxBufferedBytes / 2) await this.drain();
    }
    return true;
  }

  /** Writes a whole text frame (`textFrame`); returns false if the socket was closed instead. */
  private write(frame: Buffer): boolean {
    if (!this.hasRoomFor(frame.length)) return false;
    this.socket.write(frame);
    return true;
  }

  /** Whether the socket is open and takes `bytes` more without passing the cap (else it is cut off). */
  private hasRoomFor(bytes: number): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount + bytes > this.maxBufferedBytes) {
      this.close(CloseCode.SlowConsumer, 'slow consumer');
      return false;
    }
    return true;
  }

  /**
   * A live frame from the hub, prepared once for every socket it goes to: held during a sync,
   * else written in its stream's order (dropped if the socket has it, held if it came early).
   */
  deliver(frame: OrderedFrame): boolean {
    if (!frame.stream) return 'wire' in frame && this.write(frame.wire);
    if (this.held) {
      if (this.held.push(frame) > MAX_HELD) this.close(CloseCode.SlowConsumer, 'too much traffic during sync');
      return true;
    }
    if (this.order.takeNext(frame.stream)) return 'wire' in frame && this.write(frame.wire);
    const ready = this.order.accept(frame, Date.now());
    this.armGapTimer();
    return this.writeAll(ready) > 0;
  }

  /**
   * A stream position this socket's device sent (it has the ack): not written, but the stream
   * moves past it in order, like a frame that was. During a sync it is held like a live frame, and
   * the sync skips it.
   */
  skip(stream: StreamPosition): void {
    const silent = { silent: true as const, stream };
    if (this.held) {
      this.held.push(silent);
      (this.ownDuringSync ??= new Set()).add(`${stream.key}:${stream.seq}`);
      return;
    }
    this.writeAll(this.order.accept(silent, Date.now()));
    this.armGapTimer();
  }

  /** Begins a sync: live stream frames are held from now on. */
  beginSync(): void {
    this.held ??= [];
  }

  /** Whether the socket has this stream frame already (a sync skips it). */
  has(stream: StreamPosition): boolean {
    return this.order.has(stream) || (this.ownDuringSync?.has(`${stream.key}:${stream.seq}`) ?? false);
  }

  /** A sync sent stream `key` up to `seq`; after its first page the socket knows every stream of its user. */
  synced(key: string, seq: number): void {
    this.order.complete = true;
    this.writeAll(this.order.reached(key, seq));
  }

  /**
   * Ends a sync: sends the held live frames the sync did not already send, but not the stored
   * frame of a message this device sent meanwhile (a repair may have read it before its ack was
   * written, and held it ahead of the ack's silent position): the device has that one.
   */
  endSync(): void {
    const held = this.held ?? [];
    const own = this.ownDuringSync;
    this.held = undefined;
    this.ownDuringSync = undefined;
    for (const frame of held) {
      if (own && 'wire' in frame && frame.stream && own.has(`${frame.stream.key}:${frame.stream.seq}`)) continue;
      this.deliver(frame);
    }
  }

  /** Where the socket stands in each stream it knows (`key → next seq`), and whether that is all of them. */
  streamPositions(): { positions: ReadonlyMap<string, number>; complete: boolean } {
    return { positions: this.order.positions(), complete: this.order.complete };
  }

  /**
   * What a repair read: stream `key` starts after `from` for this user (its position, or the start
   * of their membership), then `frames` in order. `gone`: the user is no longer in the stream, so
   * frames held early in it are let through. Early frames past what the read found stay held (the
   * read was older than they are) and are repaired again.
   */
  repaired(streams: ReadonlyArray<{ key: string; from: number; frames: OrderedFrame[]; gone: boolean }>): void {
    if (this.held) {
      for (const s of streams) for (const f of s.frames) this.deliver(f);
      return;
    }
    for (const s of streams) {
      this.writeAll(this.order.startAt(s.key, s.from));
      for (const f of s.frames) this.writeAll(this.order.accept(f, Date.now()));
      if (s.gone) this.writeAll(this.order.skipGap(s.key));
    }
    this.armGapTimer();
  }

  private writeAll(frames: OrderedFrame[]): number {
    let written = 0;
    for (const f of frames) if ('wire' in f && this.write(f.wire)) written++;
    return written;
  }

  /** Runs a repair when the oldest early frame has waited `waitMs`; one at a time per socket. */
  private armGapTimer(): void {
    if (!this.streams || this.gapTimer || this.repairing) return;
    const oldest = this.order.nextDeadline(this.streams.waitMs);
    if (oldest === undefined) return;
    // After failed repairs, back off: 0.4, 0.8 … 5 s, not a retry as fast as the errors come.
    const deadline = this.repairFailures === 0 ? oldest : Math.max(oldest, Date.now() + Math.min(5000, this.streams.waitMs * 2 ** this.repairFailures));
    this.gapTimer = setTimeout(() => {
      this.gapTimer = undefined;
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (this.held) {
        // The sync under way reads the same streams; look again once it is over.
        this.gapTimer = setTimeout(() => this.armGapTimerAgain(), this.streams!.waitMs);
        return;
      }
      const keys = this.order.overdue(Date.now(), this.streams!.waitMs);
      if (keys.length === 0) return this.armGapTimer();
      this.repairing = true;
      void this.streams!.repair(this, keys).then((done) => {
        // Still a gap after a repair that read (it read before the missing commits were visible):
        // the next try backs off too.
        const stillWaiting = this.order.overdue(Date.now(), this.streams!.waitMs).length > 0;
        this.repairFailures = done && !stillWaiting ? 0 : this.repairFailures + 1;
        this.repairing = false;
        this.armGapTimer();
      });
    }, Math.max(0, deadline - Date.now()));
    this.gapTimer.unref();
  }

  private armGapTimerAgain(): void {
    this.gapTimer = undefined;
    this.armGapTimer();
  }

  /**
   * Resolves once the socket's unsent bytes are below half the cap (used between sync pages), or
   * it closed: woken by the socket's `drain` event (it has passed its high-water mark, so one comes),
   * with a slow check as a backstop.
   */
  async drain(): Promise<void> {
    while (this.ws.readyState === this.ws.OPEN && this.ws.bufferedAmount > this.maxBufferedBytes / 2) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(backstop);
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        const backstop = setTimeout(done, 1000);
        this.socket.once('drain', done);
        this.socket.once('close', done);
      });
    }
  }

  /** Closes with a code; a socket that does not finish the closing handshake soon is terminated. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.CLOSED) return;
    if (code === CloseCode.SlowConsumer && this.ws.bufferedAmount > this.maxBufferedBytes / 2) {
      // Its buffer is full: a close frame would queue behind it. Cut it off now (the client sees 1006).
      this.ws.terminate();
      return;
    }
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}
