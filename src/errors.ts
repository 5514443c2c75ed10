/**
 * The one error catalog. Services throw `new AppError('NOT_FOUND')`; the HTTP error handler (and
 * later the gateway) map the kind to the envelope code and HTTP status of API.md. Nothing else
 * decides codes.
 */
export const errorCatalog = {
  BAD_REQUEST: { code: 1000, status: 400, msg: 'invalid request' },
  CONFLICT: { code: 1000, status: 409, msg: 'conflict' },
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
  INTERNAL: { code: 1500, status: 500, msg: 'internal error' },
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
