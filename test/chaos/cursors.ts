import { MAX_HELD } from '../../src/modules/sync/cursors.js';

/**
 * A device's position in its streams, as docs/protocol.md defines it: per conversation the highest
 * seq below which it holds everything (frames received plus its own acked sends), and the same for
 * its event stream (EventSeq). Seqs held above a gap wait until the gap is filled. A conversation
 * never seen is absent (the server counts it as 0).
 */
export class StreamCursors {
  private readonly cursors = new Map<number, number>();
  private readonly above = new Map<number, Set<number>>();
  private eventCursor = 0;
  private readonly eventsAbove = new Set<number>();

  /**
   * `fromServer`: a frame, which the server sends each socket in order from where the user's part of
   * the stream starts (a group joined at seq 57: 58), so the first one of a stream never seen starts
   * it. The answer to an own send (false) starts a stream only at seq 1, as the SDK's StreamGate.
   */
  hold(convId: number, seq: number, fromServer = true): void {
    if (!this.cursors.has(convId) && (fromServer || seq === 1)) this.cursors.set(convId, seq - 1);
    let set = this.above.get(convId);
    if (!set) this.above.set(convId, (set = new Set()));
    let cursor = this.cursors.get(convId);
    if (cursor === undefined) {
      set.add(seq);
      return;
    }
    if (seq <= cursor) return;
    set.add(seq);
    while (set.delete(cursor + 1)) cursor++;
    this.cursors.set(convId, cursor);
  }

  holdEvent(seq: number): void {
    if (seq <= this.eventCursor) return;
    this.eventsAbove.add(seq);
    while (this.eventsAbove.delete(this.eventCursor + 1)) this.eventCursor++;
  }

  /**
   * What a sign-in `Sync` or a `Cmd 22` presents: with `Held`, the seqs held above a gap (its own
   * acked sends among them), which the sync then does not send again (at most MAX_HELD).
   */
  position(): { Cursors: Record<string, number>; EventSeq: number; Held?: Record<string, number[]> } {
    const held: Record<string, number[]> = {};
    let count = 0;
    for (const [convId, seqs] of this.above) {
      const list = [...seqs].slice(0, MAX_HELD - count);
      if (list.length === 0) continue;
      held[String(convId)] = list;
      count += list.length;
    }
    return { Cursors: Object.fromEntries([...this.cursors].map(([c, s]) => [String(c), s])), EventSeq: this.eventCursor, ...(count > 0 ? { Held: held } : {}) };
  }
}
