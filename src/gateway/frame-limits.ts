import type { AppError } from '../errors.js';

/** A bucket of `capacity` tokens refilled evenly over `refillMs`: bursts up to `capacity`, then `capacity` per `refillMs`. */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly capacity: number,
    private readonly refillMs: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.at = clock();
  }

  /** Takes a token; false when there is none. */
  take(): boolean {
    const now = this.clock();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) * this.capacity) / this.refillMs);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A limited command: how many a minute, and what the client is told past it. */
export interface FrameLimit {
  cmd: number;
  perMinute: number;
  /** The refusal (Cmd 2) past the limit: built once, shared by every socket. */
  refusal: AppError;
}

/** One socket's limits on the commands that have one (counted in memory, per socket). */
export class FrameLimits {
  private readonly buckets = new Map<number, { bucket: TokenBucket; refusal: AppError }>();

  constructor(limits: readonly FrameLimit[], clock: () => number = Date.now) {
    for (const l of limits) this.buckets.set(l.cmd, { bucket: new TokenBucket(l.perMinute, 60_000, clock), refusal: l.refusal });
  }

  /** Counts a frame of `cmd`: undefined when it is within its limit, else the refusal to send. */
  refusalFor(cmd: number): AppError | undefined {
    const limit = this.buckets.get(cmd);
    if (!limit || limit.bucket.take()) return undefined;
    return limit.refusal;
  }
}
