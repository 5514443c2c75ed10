/**
 * Keeps a drain's socket closes at no more than `perSecond` in any second. A drain closes sockets
 * on a schedule (one slot each); when the node's event loop is held up (sending the move notices to
 * every socket at once, traffic), the slots that passed meanwhile would all be closed at once, and
 * their clients would reconnect to the other nodes together: a stall of half a second put 1.5–2×
 * the rate into one second. With the pacer the k-th close comes at least 1001 ms after the
 * (k − perSecond)-th (1 ms spare for clocks read a millisecond apart), so overdue closes are spread
 * at the rate instead.
 */
export class ClosePacer {
  private readonly times: number[] = [];
  readonly perSecond: number;

  constructor(perSecond: number) {
    this.perSecond = Math.max(1, Math.floor(perSecond));
  }

  /** Milliseconds until another close may happen (0: now). */
  waitMs(now = Date.now()): number {
    const k = this.times.length - this.perSecond;
    return k < 0 ? 0 : Math.max(0, this.times[k]! + 1001 - now);
  }

  /** Counts a close happening now; call it in the same turn as `waitMs()` said 0, before closing. */
  record(now = Date.now()): void {
    this.times.push(now);
  }

  /** Waits until another close may happen, then counts it (the caller closes in the same turn). */
  async take(): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await new Promise((r) => setTimeout(r, wait));
    this.record();
  }

  /** Closes counted so far. */
  get count(): number {
    return this.times.length;
  }

  /** The most closes counted in any window of one second. */
  peakPerSecond(): number {
    let peak = 0;
    for (let i = 0, j = 0; i < this.times.length; i++) {
      while (this.times[i]! - this.times[j]! >= 1000) j++;
      peak = Math.max(peak, i - j + 1);
    }
    return peak;
  }
}
