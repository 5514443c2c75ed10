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

/**
 * One socket's limits on the commands that have one (counted in memory, per socket). A bucket is
 * made when its command is first sent: most sockets never send a limited command, and three
 * buckets and a map for every idle socket were about 0.5 KB of each one's memory.
 */
export class FrameLimits {
  private buckets: Map<number, TokenBucket> | undefined;

  /** `limits`: shared by every socket (the gateway's), a few entries. */
  constructor(
    private readonly limits: readonly FrameLimit[],
    private readonly clock: () => number = Date.now,
  ) {}

  /** Counts a frame of `cmd`: undefined when it is within its limit, else the refusal to send. */
  refusalFor(cmd: number): AppError | undefined {
    let limit: FrameLimit | undefined;
    for (const l of this.limits) if (l.cmd === cmd) limit = l;
    if (!limit) return undefined;
    this.buckets ??= new Map();
    let bucket = this.buckets.get(cmd);
    if (!bucket) {
      bucket = new TokenBucket(limit.perMinute, 60_000, this.clock);
      this.buckets.set(cmd, bucket);
    }
    return bucket.take() ? undefined : limit.refusal;
  }
}
