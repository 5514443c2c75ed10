/**
 * When the writes waiting for a batch are handed on (group commit): at the end of the event
 * loop's turn, or, when writes come close together, up to `delayMs` later so that the ones that
 * follow join the same batch. Every batch costs its round trips, its thread hop and its Redis call
 * whatever its size, so on a node storing a message every millisecond or so, a few milliseconds
 * of waiting make one batch of several instead of several of one (docs/benchmarks.md). A write
 * that comes more than `delayMs` after the one before goes at the end of the turn: a quiet node
 * adds no delay. With `delayMs` 0 every batch goes at the end of its turn.
 *
 * A batch waits out its delay unless it fills up (the writer's largest batch): cutting it short
 * at 8 messages, to spare a busy node's messages the wait, cost more CPU a message than it saved
 * (SQLite 177–179 µs against 157 without any delay, 141 with the whole delay; docs/benchmarks.md).
 */
export class BatchDelay {
  private lastArrival = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;

  constructor(
    private readonly delayMs: number,
    private readonly run: () => void,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** A batch is due (its `run` not called yet). */
  get pending(): boolean {
    return this.timer !== undefined || this.immediate !== undefined;
  }

  /**
   * A write arrived. With `schedule` (nothing else will hand the writes on), a batch is made due
   * unless one is; once `waiting` writes fill a batch (`full`) it runs at once.
   */
  arrived(schedule: boolean, waiting: number, full: number): void {
    const now = this.clock();
    const close = now - this.lastArrival < this.delayMs;
    this.lastArrival = now;
    if (!schedule) return;
    if (waiting >= full && this.timer) {
      this.fire();
      return;
    }
    if (this.pending) return;
    if (close) this.timer = setTimeout(() => this.fire(), this.delayMs);
    else this.immediate = setImmediate(() => this.fire());
  }

  private fire(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.run();
  }
}
