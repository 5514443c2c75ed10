import { describe, expect, it } from 'vitest';
import { retryableError } from '../src/errors.js';

describe('retryableError: a database out of reach is a retry, anything else an internal error', () => {
  it.each(['ECONNREFUSED', 'PROTOCOL_CONNECTION_LOST', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'SQLITE_BUSY'])('%s → 503 / 1503', (code) => {
    const err = retryableError(Object.assign(new Error('down'), { code }));
    expect(err).toMatchObject({ reason: 'unavailable', status: 503, code: 1503, retryAfterSeconds: 1 });
    expect(err!.message).toBe('service temporarily unavailable, retry');
  });

  it('looks through causes, and leaves other errors alone', () => {
    expect(retryableError(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }))?.code).toBe(1503);
    expect(retryableError(Object.assign(new Error('dup'), { code: 'ER_DUP_ENTRY' }))).toBeUndefined();
    expect(retryableError(new TypeError('bug'))).toBeUndefined();
    expect(retryableError(null)).toBeUndefined();
  });
});
