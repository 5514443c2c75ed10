import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';

/** The answer a request got: its HTTP status and body, given again to a retry. */
export interface StoredAnswer {
  status: number;
  body: string;
}

/** What `begin` found under a key. */
export type Begun =
  /**
   * The caller now holds the key (`token`) and runs the request. `op` names the operation across
   * attempts: a retry after a failure resumes the same `op`, so that work recorded under it (the
   * push API's progress) is not done twice. `resumed`: an earlier attempt held the key.
   */
  | { kind: 'started'; op: string; token: string; resumed: boolean }
  /** An earlier attempt finished: its answer. */
  | { kind: 'done'; answer: StoredAnswer }
  /** An attempt holds the key now (its lease has not run out). */
  | { kind: 'running' }
  /** The key was first used for a request with another fingerprint (other body or route). */
  | { kind: 'mismatch' };

export interface BeginOptions {
  /** How long the key is kept from its first use (its answer with it). */
  ttlSeconds: number;
  /** How long the claim holds without `renew`: past it, an attempt is taken to have died and a retry resumes. */
  leaseMs: number;
}

/**
 * Idempotency keys, cluster-wide (the push API's `Idempotency-Key`). A key lives `ttlSeconds`
 * from its first use and is, at any time, running (held by one attempt under a lease), failed
 * (an attempt ended without a final answer: a retry resumes its operation) or done (its answer
 * stored). Every call but `begin` acts only while the caller's token still holds the key.
 */
export interface IdempotencyStore {
  /**
   * Claims `key` for a request with `fingerprint`: a new key, a failed one, or a running one whose
   * lease ran out is `started`; otherwise says what holds it.
   */
  begin(key: string, fingerprint: string, options: BeginOptions): Promise<Begun>;
  /** Extends a running claim's lease; false when the token no longer holds the key. */
  renew(key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Stores the final answer: a retry gets it from now on. */
  complete(key: string, token: string, answer: StoredAnswer): Promise<void>;
  /** Ends the attempt without a final answer (it may have done part of its work): a retry resumes the operation. */
  fail(key: string, token: string): Promise<void>;
}

export function newId(): string {
  return randomBytes(16).toString('base64url');
}

interface Entry {
  fingerprint: string;
  op: string;
  state: 'running' | 'failed' | 'done';
  token: string;
  leaseUntil: number;
  expiresAt: number;
  answer?: StoredAnswer;
  /** What the entry counts against the store's capacity. */
  bytes: number;
}

/** Bytes an entry takes besides its key and answer, roughly. */
const ENTRY_OVERHEAD = 200;

/**
 * This node's memory (single node). Bounded by `capacityBytes` (keys and answers, roughly): a key
 * is never forgotten before its time (a retry would then run again), so past the bound a new key
 * is refused (RATE_LIMITED) until the oldest expire. Every key lives equally long from its first
 * use, so the oldest entry (first in the Map) expires first.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(
    private readonly capacityBytes = 64 * 1024 * 1024,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Bytes the entries take (for tests). */
  get size(): number {
    return this.bytes;
  }

  async begin(key: string, fingerprint: string, options: BeginOptions): Promise<Begun> {
    const now = this.clock();
    this.expire(now);
    const entry = this.entries.get(key);
    if (!entry) {
      const bytes = key.length + fingerprint.length + ENTRY_OVERHEAD;
      if (this.bytes + bytes > this.capacityBytes) throw new AppError('too_many_idempotency_keys', undefined, { retryAfterSeconds: 60 });
      const token = newId();
      const op = newId();
      this.entries.set(key, { fingerprint, op, state: 'running', token, leaseUntil: now + options.leaseMs, expiresAt: now + options.ttlSeconds * 1000, bytes });
      this.bytes += bytes;
      return { kind: 'started', op, token, resumed: false };
    }
    if (entry.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (entry.state === 'done') return { kind: 'done', answer: entry.answer! };
    if (entry.state === 'running' && entry.leaseUntil > now) return { kind: 'running' };
    entry.state = 'running';
    entry.token = newId();
    entry.leaseUntil = now + options.leaseMs;
    return { kind: 'started', op: entry.op, token: entry.token, resumed: true };
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    const entry = this.held(key, token);
    if (!entry || entry.state !== 'running') return false;
    entry.leaseUntil = this.clock() + leaseMs;
    return true;
  }

  async complete(key: string, token: string, answer: StoredAnswer): Promise<void> {
    const entry = this.held(key, token);
    if (!entry) return;
    entry.state = 'done';
    entry.answer = answer;
    this.bytes += answer.body.length;
    entry.bytes += answer.body.length;
  }

  async fail(key: string, token: string): Promise<void> {
    const entry = this.held(key, token);
    if (entry) entry.state = 'failed';
  }

  private held(key: string, token: string): Entry | undefined {
    const entry = this.entries.get(key);
    return entry && entry.token === token && entry.expiresAt > this.clock() ? entry : undefined;
  }

  private expire(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
    }
  }
}
