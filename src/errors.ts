import { errorReasons, type ParamValue, type Params, type Reason } from './error-reasons.js';
import type { Locale } from './i18n.js';

export { errorReasons, type ParamValue, type Reason } from './error-reasons.js';

interface AppErrorOptions {
  /** Seconds the client should wait (rate limits, retryable failures). */
  retryAfterSeconds?: number;
  cause?: unknown;
}

/** What `new AppError(reason, …)` takes after the reason: the message's parameters when it has any. */
type ArgsOf<R extends Reason> = Params<R> extends undefined
  ? [params?: undefined, options?: AppErrorOptions]
  : [params: Params<R>, options?: AppErrorOptions];

/** Fills `{name}` placeholders with the parameters, each in the wanted language. */
function render(template: string, params: Readonly<Record<string, ParamValue>> | undefined, locale: Locale): string {
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name];
    if (value === undefined) return whole;
    return typeof value === 'object' ? value[locale] : String(value);
  });
}

/**
 * A request that breaks a rule. Services throw `new AppError('group_full')`; the HTTP error
 * handler and the gateway answer with the reason's envelope code, HTTP status, `reason` key and
 * its message in the caller's language. `message` is the English text (for logs). Nothing else
 * decides codes.
 */
class AppErrorClass extends Error {
  readonly reason: Reason;
  readonly params: Readonly<Record<string, ParamValue>> | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(reason: Reason, params?: Readonly<Record<string, ParamValue>>, options?: AppErrorOptions) {
    super(render(errorReasons[reason].en, params, 'en'), { cause: options?.cause });
    this.name = 'AppError';
    this.reason = reason;
    this.params = params;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get code(): number {
    return errorReasons[this.reason].code;
  }

  get status(): number {
    return errorReasons[this.reason].status;
  }

  /** The message in `locale`. */
  text(locale: Locale): string {
    return locale === 'en' ? this.message : render(errorReasons[this.reason][locale], this.params, locale);
  }

  /** An AppError from parts that crossed a thread or process boundary (reason and params unchecked by type). */
  static from(reason: Reason, params?: Readonly<Record<string, ParamValue>>): AppErrorClass {
    return new AppErrorClass(reason, params);
  }
}

/** The constructor as callers see it: a reason, then exactly the parameters its message names. */
interface AppErrorConstructor {
  new <R extends Reason>(reason: R, ...args: ArgsOf<R>): AppErrorClass;
  readonly prototype: AppErrorClass;
  from(reason: Reason, params?: Readonly<Record<string, ParamValue>>): AppErrorClass;
}

export const AppError = AppErrorClass as unknown as AppErrorConstructor;
export type AppError = AppErrorClass;

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
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return new AppError('unavailable', undefined, { retryAfterSeconds: 1, cause: err });
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
