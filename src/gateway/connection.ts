import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { StreamPosition } from '../notify/notifier.js';
import { CloseCode } from './protocol.js';
import { type LiveFrame, streamMark } from './wire-frame.js';

/** Connection ids are unique across the cluster: an `except` travels to other nodes with a frame. */
const ID_PREFIX = randomBytes(6).toString('base64url');
let nextId = 0;
const SETTLED: Promise<void> = Promise.resolve();

/** Live frames held while a sync runs; past this the socket is closed and must sync again. */
const MAX_HELD = 10_000;
/** Live stream frames remembered between sign-in and a first standalone sync (Cmd 23). */
const MAX_PRESYNC = 1000;
/** …and for at most this long after sign-in (clients sync right after signing in, or never). */
const PRESYNC_MS = 30_000;

/**
 * One socket. Sends never block: a socket whose unsent bytes would pass `maxBufferedBytes` is a
 * slow consumer and is cut off at once (no close frame: it would wait behind the unread bytes),
 * so it cannot hold memory or stall anyone else. Too much traffic during a sync closes it with
 * 4008 when its buffer has room for the close frame.
 *
 * Sync: while a sync runs, live frames of conversation/event streams are held and sent after it,
 * skipping those the sync already covered (`marks`: the cursor per stream after the sync), so a frame
 * reaches the socket once and in seq order per stream.
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
  /** The chain of this socket's ordered frames (sends, reads) being handled. */
  serial: Promise<void> = SETTLED;
  /** Live stream frames held while a sync runs. */
  private held: LiveFrame[] | undefined;
  private marks: Map<string, number> | undefined;
  /** Stream frames sent live before the first sync, so that sync does not send them again. */
  private presync: Set<string> | undefined;
  private presyncUntil = 0;

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
  ) {}

  get signedIn(): boolean {
    return this.userId !== undefined;
  }

  get syncing(): boolean {
    return this.held !== undefined;
  }

  /** Sends a serialised frame; returns false if the socket was closed instead. */
  send(payload: string): boolean {
    if (!this.hasRoomFor(Buffer.byteLength(payload))) return false;
    this.ws.send(payload);
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
   * dropped if a sync already sent it.
   */
  deliver(frame: LiveFrame): boolean {
    const stream = frame.stream;
    if (!stream) return this.write(frame.wire);
    if (this.held) {
      if (this.held.push(frame) > MAX_HELD) this.close(CloseCode.SlowConsumer, 'too much traffic during sync');
      return true;
    }
    // Drop what a sync already covered; live frames past it pass (in whatever order they come).
    const covered = this.marks?.get(stream.key);
    if (covered !== undefined && stream.seq <= covered) return false;
    if (this.presync) {
      if (this.presync.size >= MAX_PRESYNC || frame.at > this.presyncUntil) this.presync = undefined;
      else this.presync.add(frame.mark!);
    }
    return this.write(frame.wire);
  }

  /** Starts remembering live stream frames until the first sync (for a standalone Cmd 23). */
  watchBeforeSync(): void {
    this.presync = new Set();
    this.presyncUntil = Date.now() + PRESYNC_MS;
  }

  /** Begins a sync: live stream frames are held from now on. */
  beginSync(): void {
    this.held ??= [];
    this.marks ??= new Map();
  }

  /** Whether the sync should skip this frame (sent live before the first sync). */
  sentBeforeSync(stream: StreamPosition): boolean {
    return this.presync?.has(streamMark(stream)) ?? false;
  }

  /** Records that the sync sent a stream frame. */
  synced(stream: StreamPosition): void {
    const mark = this.marks!.get(stream.key) ?? 0;
    if (stream.seq > mark) this.marks!.set(stream.key, stream.seq);
  }

  /** Ends a sync: sends the held live frames the sync did not already send. */
  endSync(): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.presync = undefined;
    for (const frame of held) this.deliver(frame);
  }

  /** Resolves once the socket's unsent bytes are below half the cap (used between sync pages). */
  async drain(): Promise<void> {
    while (this.ws.readyState === this.ws.OPEN && this.ws.bufferedAmount > this.maxBufferedBytes / 2) {
      await new Promise((r) => setTimeout(r, 5));
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
