/**
 * The one error catalog. Services throw `new AppError('NOT_FOUND')`; the HTTP error handler (and
 * later the gateway) map the kind to the envelope code and HTTP status of API.md. Nothing else
 * decides codes.
 */
export const errorCatalog = {
  BAD_REQUEST: { code: 1000, status: 400, msg: 'invalid request' },
  CONFLICT: { code: 1000, status: 409, msg: 'conflict' },
  IDEMPOTENCY_KEY_REUSED: { code: 1000, status: 422, msg: 'this Idempotency-Key was used for another request (another body or route)' },
  USERNAME_TAKEN: { code: 1000, status: 409, msg: 'username already taken' },
  ID_CARD_TAKEN: { code: 1000, status: 409, msg: 'this ID card is already verified on another account' },
  ALREADY_VERIFIED: { code: 1000, status: 409, msg: 'real name already verified' },
  UNAUTHENTICATED: { code: 1001, status: 401, msg: 'login required' },
  TOKEN_INVALID: { code: 1001, status: 401, msg: 'token invalid, expired or revoked' },
  BAD_CREDENTIALS: { code: 1001, status: 401, msg: 'wrong username or password' },
  NOT_FOUND: { code: 1002, status: 404, msg: 'not found' },
  FORBIDDEN: { code: 1003, status: 403, msg: 'forbidden' },
  PAYLOAD_TOO_LARGE: { code: 1004, status: 413, msg: 'payload too large' },
  RATE_LIMITED: { code: 1005, status: 429, msg: 'too many requests, retry later' },
  MUTED: { code: 1006, status: 403, msg: 'you are muted in this group' },
  FORBIDDEN_WORD: { code: 1007, status: 400, msg: 'contains a word that is not allowed' },
  REJECTED: { code: 1008, status: 403, msg: 'message rejected' },
  BANNED: { code: 1009, status: 403, msg: 'this account is banned' },
  INTERNAL: { code: 1500, status: 500, msg: 'internal error' },
  UNAVAILABLE: { code: 1503, status: 503, msg: 'service temporarily unavailable, retry' },
} as const satisfies Record<string, { code: number; status: number; msg: string }>;

export type ErrorKind = keyof typeof errorCatalog;

export class AppError extends Error {
  readonly kind: ErrorKind;
  /** Seconds the client should wait (RATE_LIMITED only). */
  readonly retryAfterSeconds: number | undefined;

  constructor(kind: ErrorKind, message?: string, options?: { retryAfterSeconds?: number; cause?: unknown }) {
    super(message ?? errorCatalog[kind].msg, { cause: options?.cause });
    this.name = 'AppError';
    this.kind = kind;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get code(): number {
    return errorCatalog[this.kind].code;
  }

  get status(): number {
    return errorCatalog[this.kind].status;
  }
}

/** True for a unique-key violation on MySQL/MariaDB or SQLite. */
export function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_DUP_ENTRY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/**
 * Error codes of a database that cannot be reached or is going away (mysql2's connection errors,
 * MariaDB shutting down or killing the connection, SQLite busy): the request changed nothing and
 * may be retried.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_QUIT', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'SQLITE_BUSY',
]);

/**
 * An unexpected error as the AppError a client should see: UNAVAILABLE (retry) for a database
 * out of reach, else undefined (an internal error). Looks through `cause` chains.
 */
export function retryableError(err: unknown): AppError | undefined {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return new AppError('UNAVAILABLE', undefined, { retryAfterSeconds: 1, cause: err });
  }
  return undefined;
}

/** A start-up problem whose message is written for the operator (printed as it is, no stack). */
export class StartupError extends Error {}

/** A service URL fit for a message or a log: any password replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
