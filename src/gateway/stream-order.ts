import type { StreamPosition } from '../notify/notifier.js';
import type { OrderedFrame } from './wire-frame.js';

/** Early frames one socket holds for one stream at most; past this the gap is repaired at once. */
const MAX_EARLY = 1000;
const NO_POSITIONS: ReadonlyMap<string, number> = new Map();

/**
 * Where each stream of one socket stands, so that every conversation's frames reach it once and
 * in `Seq` order, whichever nodes they come through.
 *
 * `next` is the seq the socket needs next; everything from `from` up to `next - 1` it has (`from`
 * is 0 when a sync set the position: the client holds all before its cursor). A frame below
 * `next` was sent already and is dropped; one past `next` came early (another node's commit of
 * the seq before it is still on its way, or was lost) and is held until the missing ones come or
 * the gap is repaired from the database (`Connection` runs that timer).
 *
 * A socket that synced knows every stream of its user (`complete`): a stream it has no position
 * for began after the sync (a new conversation or group), and a frame of it past seq 1 waits for
 * a repair to say where the stream starts for this user. Without a sync (weIm-go clients) the
 * first frame of a stream sets its position.
 */
export class StreamOrder {
  /** Made with the first position (an idle socket has none: two empty maps were ~0.35 KB of it). */
  private next: Map<string, number> | undefined;
  private from: Map<string, number> | undefined;
  private early: Map<string, Map<number, OrderedFrame>> | undefined;
  /** When the oldest early frame of each stream with a gap arrived. */
  private waitingSince: Map<string, number> | undefined;
  complete = false;

  /**
   * The common case, decided without allocating: true when `stream` is the next seq of a stream
   * with nothing held early (its position is moved past it, and the caller writes it); false when
   * `accept` must decide.
   */
  takeNext(stream: { key: string; seq: number }): boolean {
    if (this.early?.has(stream.key)) return false;
    const next = this.next;
    if (next === undefined || next.get(stream.key) !== stream.seq) return false;
    next.set(stream.key, stream.seq + 1);
    return true;
  }

  /**
   * Decides about a live frame: the frames to write now, in order (it, and early ones it lets
   * through), or none (a duplicate, or held early).
   */
  accept(frame: OrderedFrame, now: number): OrderedFrame[] {
    const { key, seq } = frame.stream!;
    const expected = this.next?.get(key);
    if (expected === undefined) {
      if (this.complete && seq > 1) return this.hold(key, seq, frame, now);
      (this.from ??= new Map()).set(key, seq);
      (this.next ??= new Map()).set(key, seq + 1);
      return this.release(key, [frame]);
    }
    if (seq < expected) {
      // Below where a socket that never synced started this stream (its first frame came ahead
      // of an earlier one): not had, so written, late rather than never.
      const from = this.from?.get(key);
      if (from === undefined || seq >= from) return [];
      if (seq === from - 1) this.from!.set(key, seq);
      return [frame];
    }
    if (seq > expected) return this.hold(key, seq, frame, now);
    this.next!.set(key, seq + 1);
    return this.release(key, [frame]);
  }

  /**
   * Whether the socket has this stream frame already (a sync skips it): it was sent, or it is the
   * device's own message waiting in order behind a gap.
   */
  has(stream: StreamPosition): boolean {
    const expected = this.next?.get(stream.key);
    if (expected !== undefined && stream.seq < expected && stream.seq >= (this.from?.get(stream.key) ?? 0)) return true;
    const early = this.early?.get(stream.key)?.get(stream.seq);
    return early !== undefined && 'silent' in early;
  }

  /** A sync or repair sent the stream up to `seq` (or found nothing past it): the socket has it all. */
  reached(key: string, seq: number): OrderedFrame[] {
    const expected = this.next?.get(key);
    this.from?.delete(key);
    if (expected === undefined || seq + 1 > expected) (this.next ??= new Map()).set(key, seq + 1);
    return this.release(key, []);
  }

  /**
   * A repair read stream `key` from `seq` on (the socket's position, or where the user's part of
   * the stream starts): the position moves there if it was behind or unknown. What the socket
   * received below a live start (`from`) stays as it was, since the repair did not read it.
   */
  startAt(key: string, seq: number): OrderedFrame[] {
    const expected = this.next?.get(key);
    if (expected !== undefined && expected >= seq + 1) return [];
    if (expected !== undefined) this.from?.delete(key);
    (this.next ??= new Map()).set(key, seq + 1);
    return this.release(key, []);
  }

  /** The seq the socket needs next in `key`, if known. */
  position(key: string): number | undefined {
    return this.next?.get(key);
  }

  /** Every stream with a known position, as `key → next`. */
  positions(): ReadonlyMap<string, number> {
    return this.next ?? NO_POSITIONS;
  }

  /** Streams whose early frames have waited at least `waitMs` for the seqs before them. */
  overdue(now: number, waitMs: number): string[] {
    if (!this.waitingSince) return [];
    return [...this.waitingSince].filter(([, since]) => now - since >= waitMs).map(([key]) => key);
  }

  /** When the next stream becomes overdue, if any waits. */
  nextDeadline(waitMs: number): number | undefined {
    if (!this.waitingSince || this.waitingSince.size === 0) return undefined;
    return Math.min(...this.waitingSince.values()) + waitMs;
  }

  /**
   * The user is no longer in the stream (a repair found it gone from their streams): moves on to
   * the first early frame so that nothing stays held.
   */
  skipGap(key: string): OrderedFrame[] {
    const held = this.early?.get(key);
    if (!held || held.size === 0) return [];
    (this.next ??= new Map()).set(key, Math.min(...held.keys()));
    return this.release(key, []);
  }

  /** Sends on the early frames of `key` that follow `first` without a gap. */
  private release(key: string, first: OrderedFrame[]): OrderedFrame[] {
    const held = this.early?.get(key);
    if (!held) return first;
    const out = first;
    let expected = this.next!.get(key)!;
    for (const seq of [...held.keys()].sort((a, b) => a - b)) {
      if (seq < expected) held.delete(seq);
      else if (seq === expected) {
        out.push(held.get(seq)!);
        held.delete(seq);
        expected++;
      }
    }
    this.next!.set(key, expected);
    if (held.size === 0) {
      this.early!.delete(key);
      this.waitingSince!.delete(key);
    }
    return out;
  }

  private hold(key: string, seq: number, frame: OrderedFrame, now: number): OrderedFrame[] {
    this.early ??= new Map();
    this.waitingSince ??= new Map();
    let held = this.early.get(key);
    if (!held) {
      held = new Map();
      this.early.set(key, held);
      this.waitingSince.set(key, now);
    }
    // The device's own message, held silent (it has the ack), stays so when its stored frame comes
    // (a repair's read, or a sync's): writing that would send the device its message a second time.
    const had = held.get(seq);
    if (!(had && 'silent' in had)) held.set(seq, frame);
    // A stream far behind is repaired at once rather than holding more.
    if (held.size > MAX_EARLY) this.waitingSince.set(key, 0);
    return [];
  }
}
