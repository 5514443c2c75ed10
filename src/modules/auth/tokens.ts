import { createSecretKey, type KeyObject, randomUUID } from 'node:crypto';
import DataLoader from 'dataloader';
import jwt from 'jsonwebtoken';
import { setBounded } from '../../bounded-map.js';
import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { endedAmong, endSessionsBefore, type HeldSession, insertRevocation, sessionsValid } from './revocations.repo.js';

const ISSUER = 'weim';
/**
 * How long a "not revoked" answer is reused. A revocation on this node takes effect at once (it
 * drops the entry); one made on another node is seen here within this time.
 */
const NOT_REVOKED_TTL_MS = 2000;
const NOT_REVOKED_CAPACITY = 100_000;
/** Verified tokens remembered (HTTP clients send the same token with every request). */
const VERIFIED_CAPACITY = 20_000;

/** What a verified token says. Times in epoch seconds, as in the JWT. */
export interface TokenClaims {
  userId: number;
  jti: string;
  iat: number;
  exp: number;
  /** When it was issued, in ms (weim's `iam` claim; `iat` × 1000 for tokens issued before it). */
  issuedAtMs: number;
}

export interface TokenServiceOptions {
  secret: string;
  ttlSeconds: number;
}

/** Issues, verifies and revokes HS256 JWTs. Revocations live in the database (all nodes see them). */
export class TokenService {
  private readonly revokedListeners: Array<(claims: TokenClaims) => void> = [];
  /** Tokens found not revoked, until when that answer is reused (saves a query per request). */
  private readonly notRevokedUntil = new Map<string, number>();
  /**
   * Claims of tokens whose signature and claims were verified, by token string: HTTP clients send
   * the same token with every request, and jsonwebtoken's verify (HMAC, base64 and JSON decoding,
   * claim checks) was about 7% of a search request. Expiry and revocation are still checked on
   * every use.
   */
  private readonly verified = new Map<string, TokenClaims>();
  /** Tokens revoked on this node (jti → expiry, ms); checked before the cache. */
  private readonly revokedHere = new Map<string, number>();
  /** Users who ended every session on this node (user → the mark, ms); checked before the cache. */
  private readonly endedHere = new Map<number, number>();
  private readonly allEndedListeners: Array<(userId: number, at: number) => void> = [];
  /**
   * The secret as a KeyObject, made once: given a string, jsonwebtoken first tries (and fails) to
   * parse it as a public key on every verify, which cost ~1 ms a request under load.
   */
  private readonly key: KeyObject;
  /**
   * The database's word on sessions not known here, asked once a turn of the event loop for every
   * token verified in it (DataLoader, no cache: `notRevokedUntil` is the cache). A reconnect storm
   * signed in with one statement each, each a write of its own on a busy node.
   */
  private readonly sessionChecks: DataLoader<HeldSession, boolean>;

  constructor(
    private readonly db: Db,
    private readonly options: TokenServiceOptions,
  ) {
    this.key = createSecretKey(Buffer.from(options.secret));
    this.sessionChecks = new DataLoader((sessions) => sessionsValid(this.db, sessions), { cache: false, maxBatchSize: 500, batchScheduleFn: (run) => setImmediate(run) });
  }

  issue(userId: number): string {
    return jwt.sign({ jti: randomUUID(), iam: Date.now() }, this.key, {
      algorithm: 'HS256',
      expiresIn: this.options.ttlSeconds,
      issuer: ISSUER,
      subject: String(userId),
    });
  }

  /**
   * Throws TOKEN_INVALID for a malformed, forged, expired or revoked token. With `remember`, a
   * token verified once is recognised by its string afterwards (for callers that see the same
   * token again and again, as HTTP requests do; a socket signs in once and does not need it).
   */
  async verify(token: string, options: { remember?: boolean } = {}): Promise<TokenClaims> {
    const now = Date.now();
    let claims = this.verified.get(token);
    if (claims === undefined || claims.exp * 1000 <= now) {
      if (claims !== undefined) this.verified.delete(token);
      claims = this.verifySignature(token);
      if (options.remember) {
        setBounded(this.verified, token, claims, VERIFIED_CAPACITY);
      }
    }
    const { jti } = claims;
    if (this.endedOnThisNode(claims)) throw new AppError('token_invalid');
    if (!((this.notRevokedUntil.get(jti) ?? 0) > now)) {
      if (!(await this.sessionChecks.load(claims))) throw new AppError('token_invalid');
      setBounded(this.notRevokedUntil, jti, now + NOT_REVOKED_TTL_MS, NOT_REVOKED_CAPACITY);
    }
    return claims;
  }

  /** The claims of a token with a valid signature, issuer and expiry; TOKEN_INVALID otherwise. */
  private verifySignature(token: string): TokenClaims {
    let payload: jwt.JwtPayload;
    try {
      const decoded = jwt.verify(token, this.key, { algorithms: ['HS256'], issuer: ISSUER });
      if (typeof decoded === 'string') throw new Error('string payload');
      payload = decoded;
    } catch {
      throw new AppError('token_invalid');
    }
    const userId = Number(payload.sub);
    const { jti, iat, exp } = payload;
    if (!Number.isSafeInteger(userId) || userId <= 0 || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') {
      throw new AppError('token_invalid');
    }
    const iam = (payload as { iam?: unknown }).iam;
    const issuedAtMs = typeof iam === 'number' && Number.isSafeInteger(iam) ? iam : iat * 1000;
    return Object.freeze({ userId, jti, iat, exp, issuedAtMs });
  }

  /** True once a token has lived past half its life: time to hand the client a fresh one. */
  needsRefresh(claims: TokenClaims, nowMs = Date.now()): boolean {
    return nowMs / 1000 > claims.iat + (claims.exp - claims.iat) / 2;
  }

  async revoke(claims: TokenClaims): Promise<void> {
    // Remembered here first, so no request racing the insert can re-cache the token as valid.
    this.revokedHere.set(claims.jti, claims.exp * 1000);
    this.pruneRevokedHere();
    this.notRevokedUntil.delete(claims.jti);
    await insertRevocation(this.db, { jti: claims.jti, user_id: claims.userId, expires_at: claims.exp * 1000 });
    for (const listener of this.revokedListeners) listener(claims);
  }

  /**
   * The jtis of those sessions that ended (revoked, or their user ended every session), asking
   * the database: for sockets signed in long ago, whose ending on another node may not have
   * reached this one.
   */
  async endedOf(sessions: readonly HeldSession[]): Promise<Set<string>> {
    const ended = await endedAmong(this.db, sessions);
    for (const s of sessions) if (this.endedOnThisNode(s)) ended.add(s.jti);
    for (const jti of ended) this.notRevokedUntil.delete(jti);
    return ended;
  }

  /** Revoked here, or issued before its user ended every session here: known without asking the database. */
  private endedOnThisNode(session: HeldSession): boolean {
    return this.revokedHere.has(session.jti) || session.issuedAtMs < (this.endedHere.get(session.userId) ?? 0);
  }

  /**
   * Ends every session of the user: each token issued until now is refused from now on (on this
   * node at once, on the others within the cache time), and listeners close its sockets. False
   * for a user that does not exist.
   */
  async revokeAll(userId: number): Promise<boolean> {
    const now = Date.now();
    setBounded(this.endedHere, userId, now, NOT_REVOKED_CAPACITY);
    if (!(await endSessionsBefore(this.db, userId, now))) return false;
    for (const listener of this.allEndedListeners) listener(userId, now);
    return true;
  }

  /**
   * Another node ended a session (`jti`) or every session of the user ('*', at `at`): refused here
   * at once too, not only once the "not revoked" cache lapses.
   */
  endedElsewhere(userId: number, jti: string, at?: number): void {
    if (jti === '*') {
      // The cutoff the other node stored; without one (an older node), the cached "not revoked"
      // answers are dropped so that the next request asks the database.
      if (at !== undefined) setBounded(this.endedHere, userId, Math.max(at, this.endedHere.get(userId) ?? 0), NOT_REVOKED_CAPACITY);
      else this.notRevokedUntil.clear();
    }
    else {
      this.revokedHere.set(jti, Date.now() + this.options.ttlSeconds * 1000);
      this.notRevokedUntil.delete(jti);
      this.pruneRevokedHere();
    }
  }

  /** Drops revocations whose tokens have expired anyway, once the map is over its capacity. */
  private pruneRevokedHere(): void {
    if (this.revokedHere.size <= NOT_REVOKED_CAPACITY) return;
    const now = Date.now();
    for (const [jti, exp] of this.revokedHere) if (exp < now) this.revokedHere.delete(jti);
  }

  /** Called after every session of a user was ended on this node (the gateway closes their sockets). */
  onAllRevoked(listener: (userId: number, at: number) => void): void {
    this.allEndedListeners.push(listener);
  }

  /** Called after a token is revoked on this node (the gateway closes that token's sockets). */
  onRevoked(listener: (claims: TokenClaims) => void): void {
    this.revokedListeners.push(listener);
  }
}
