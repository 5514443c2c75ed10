import { describe, expect, it } from 'vitest';
import { StreamOrder } from '../src/gateway/stream-order.js';
import { LiveFrame, type OrderedFrame } from '../src/gateway/wire-frame.js';

const frame = (key: string, seq: number) => new LiveFrame(JSON.stringify({ Cmd: 6, Seq: seq }), { key, seq });
const seqs = (frames: OrderedFrame[]) => frames.map((f) => f.stream!.seq);
/** The seqs of the frames that are written (silent ones are not). */
const written = (frames: OrderedFrame[]) => frames.filter((f) => 'wire' in f).map((f) => f.stream!.seq);

describe('StreamOrder: each stream once and in seq order', () => {
  it('without a sync, the first frame of a stream sets its position; duplicates are dropped', () => {
    const order = new StreamOrder();
    expect(seqs(order.accept(frame('c1', 5), 0))).toEqual([5]);
    expect(seqs(order.accept(frame('c1', 6), 0))).toEqual([6]);
    expect(seqs(order.accept(frame('c1', 6), 0))).toEqual([]);
    // Older than the first frame: never had, so written (late rather than never).
    expect(seqs(order.accept(frame('c1', 3), 0))).toEqual([3]);
    expect(order.has({ key: 'c1', seq: 5 })).toBe(true);
    // Before the first live frame: a sync from an older cursor still sends it.
    expect(order.has({ key: 'c1', seq: 4 })).toBe(false);
    expect(order.has({ key: 'c1', seq: 7 })).toBe(false);
  });

  it('the device\'s own message held early (it has the ack) is not written when a repair brings its stored frame', () => {
    // Seen in the chaos run (a frame and its own ack): a socket that synced gets the ack of a
    // message in a stream it has no position for yet; the silent position waits for a repair,
    // whose read includes the stored message itself.
    const order = new StreamOrder();
    order.complete = true;
    order.accept({ silent: true, stream: { key: 'c9', seq: 3 } }, 0);
    expect(order.has({ key: 'c9', seq: 3 })).toBe(true);
    expect(written(order.startAt('c9', 0))).toEqual([]);
    expect(written(order.accept(frame('c9', 1), 0))).toEqual([1]);
    expect(written(order.accept(frame('c9', 2), 0))).toEqual([2]);
    expect(written(order.accept(frame('c9', 3), 0))).toEqual([]);
    expect(order.position('c9')).toBe(4);
    // The stored frame comes while the gap before it is still open.
    const other = new StreamOrder();
    other.reached('c1', 10);
    other.accept({ silent: true, stream: { key: 'c1', seq: 12 } }, 0);
    expect(written(other.accept(frame('c1', 12), 0))).toEqual([]);
    expect(written(other.accept(frame('c1', 11), 0))).toEqual([11]);
    expect(written(other.accept(frame('c1', 13), 0))).toEqual([13]);
    // The stored frame is the next one: the silent position stands for it.
    const next = new StreamOrder();
    next.complete = true;
    next.accept({ silent: true, stream: { key: 'c2', seq: 5 } }, 0);
    next.startAt('c2', 4);
    expect(written(next.accept(frame('c2', 5), 0))).toEqual([]);
    expect(next.position('c2')).toBe(6);
  });

  it('a frame that comes early waits for the ones before it, then all go in order', () => {
    const order = new StreamOrder();
    order.reached('c1', 10);
    expect(seqs(order.accept(frame('c1', 13), 100))).toEqual([]);
    expect(seqs(order.accept(frame('c1', 12), 110))).toEqual([]);
    expect(order.overdue(250, 200)).toEqual([]);
    expect(order.overdue(300, 200)).toEqual(['c1']);
    expect(order.nextDeadline(200)).toBe(300);
    expect(seqs(order.accept(frame('c1', 11), 120))).toEqual([11, 12, 13]);
    expect(order.nextDeadline(200)).toBeUndefined();
    expect(order.position('c1')).toBe(14);
  });

  it('without a sync, a frame older than the first one received is written (late, not lost), once', () => {
    const order = new StreamOrder();
    order.accept({ silent: true, stream: { key: 'c1', seq: 2 } }, 0);
    expect(seqs(order.accept(frame('c1', 1), 0))).toEqual([1]);
    expect(order.has({ key: 'c1', seq: 1 })).toBe(true);
    expect(seqs(order.accept(frame('c1', 1), 0))).toEqual([]);
  });

  it('a repair moves a stream to where the user\'s part of it starts, and keeps what was had below a live start', () => {
    const order = new StreamOrder();
    order.accept(frame('c1', 10), 0);
    order.accept(frame('c1', 13), 0);
    expect(seqs(order.startAt('c1', 10))).toEqual([]);
    expect(order.has({ key: 'c1', seq: 9 })).toBe(false);
    // A rejoin: the stream restarts past the early frame's gap.
    expect(seqs(order.startAt('c1', 12))).toEqual([13]);
    expect(order.position('c1')).toBe(14);
  });

  it('a repair that finds the stream further on releases what follows; one that finds nothing skips the gap', () => {
    const order = new StreamOrder();
    order.reached('c1', 1);
    order.accept(frame('c1', 5), 0);
    order.accept(frame('c1', 6), 0);
    expect(seqs(order.reached('c1', 4))).toEqual([5, 6]);
    order.accept(frame('c1', 9), 0);
    expect(seqs(order.skipGap('c1'))).toEqual([9]);
    expect(order.position('c1')).toBe(10);
  });

  it('after a sync, a stream it did not know starts at 1; a later first frame waits for a repair', () => {
    const order = new StreamOrder();
    order.complete = true;
    expect(seqs(order.accept(frame('c2', 1), 0))).toEqual([1]);
    expect(seqs(order.accept(frame('c3', 7), 0))).toEqual([]);
    expect(order.overdue(1000, 200)).toEqual(['c3']);
    expect(seqs(order.reached('c3', 6))).toEqual([7]);
  });

  it('a silent frame (the device sent that message) takes its place in order and lets the next one through', () => {
    const order = new StreamOrder();
    order.reached('c1', 3);
    expect(order.accept({ silent: true, stream: { key: 'c1', seq: 4 } }, 0)).toEqual([{ silent: true, stream: { key: 'c1', seq: 4 } }]);
    expect(seqs(order.accept(frame('c1', 5), 0))).toEqual([5]);
    expect(order.nextDeadline(200)).toBeUndefined();
    // Behind a gap, the device's own message is had already: a sync filling the gap skips it.
    order.accept({ silent: true, stream: { key: 'c1', seq: 8 } }, 0);
    expect([6, 7, 8].map((seq) => order.has({ key: 'c1', seq }))).toEqual([false, false, true]);
  });

  it('the next seq of a stream with nothing held is taken without allocating; anything else goes to accept', () => {
    const order = new StreamOrder();
    order.reached('c1', 1);
    expect(order.takeNext({ key: 'c1', seq: 2 })).toBe(true);
    expect(order.takeNext({ key: 'c1', seq: 2 })).toBe(false);
    expect(order.takeNext({ key: 'c9', seq: 1 })).toBe(false);
    order.accept(frame('c1', 5), 0);
    expect(order.takeNext({ key: 'c1', seq: 3 })).toBe(false);
    expect(seqs(order.accept(frame('c1', 3), 0))).toEqual([3]);
  });

  it('streams are independent', () => {
    const order = new StreamOrder();
    order.reached('c1', 0);
    order.reached('e', 0);
    expect(seqs(order.accept(frame('c1', 2), 0))).toEqual([]);
    expect(seqs(order.accept(frame('e', 1), 0))).toEqual([1]);
    expect(seqs(order.accept(frame('c1', 1), 0))).toEqual([1, 2]);
  });
});
