import type { Transaction } from 'kysely';
import { isUniqueViolation } from '../errors.js';
import type { Database, Db } from './database.js';

/** MySQL/MariaDB errors after which the whole transaction may simply run again. */
function isRetryable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT' || code === 'SQLITE_BUSY';
}

/** Whether a transaction that failed with `err` may simply run again. */
export function shouldRetry(err: unknown, retryOnUnique: boolean): boolean {
  return isRetryable(err) || (retryOnUnique && isUniqueViolation(err));
}

/** The pause before attempt `attempt + 1`: short, random, growing. */
export function retryPause(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, 2 + Math.random() * 10 * attempt));
}

/**
 * Runs `work` in one transaction, retrying it (up to `attempts` times) after a deadlock, a lock
 * wait timeout, or (when `retryOnUnique`) a unique-key collision with a concurrent writer, which
 * the next attempt will then see as committed data.
 */
export async function transact<T>(
  db: Db,
  work: (trx: Transaction<Database>) => Promise<T>,
  options: { attempts?: number; retryOnUnique?: boolean } = {},
): Promise<T> {
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      if (!shouldRetry(err, options.retryOnUnique === true) || attempt >= attempts) throw err;
      await retryPause(attempt);
    }
  }
}
