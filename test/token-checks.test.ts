import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { TokenService } from '../src/modules/auth/tokens.js';
import { openTestDatabase, testDialects } from './helpers/database.js';

const options = { secret: 'x'.repeat(32), ttlSeconds: 3600 };

/**
 * Tokens verified in one turn of the event loop (a reconnect storm's sign-ins) are checked against
 * the database together; each must get the answer it would get alone: valid, revoked, its user
 * banned, every session of its user ended, its user gone.
 */
describe.each(testDialects())('session checks of many tokens at once (%s)', (dialect) => {
  let dbh: DbHandle;
  beforeAll(async () => {
    dbh = await openTestDatabase(dialect);
    const now = Date.now();
    for (let i = 1; i <= 5; i++) {
      await dbh.db.insertInto('users').values({ id: i, username: `checks_${i}`, password_hash: 'x', nickname: `n${i}`, created_at: now, updated_at: now }).execute();
    }
  });
  afterAll(async () => {
    await dbh?.close();
  });

  it('each token gets its own answer, checked in a batch and alone', async () => {
    const issuer = new TokenService(dbh.db, options);
    const tokens = {
      valid: issuer.issue(1),
      alsoValid: issuer.issue(1),
      revoked: issuer.issue(2),
      banned: issuer.issue(3),
      ended: issuer.issue(4),
      gone: issuer.issue(99),
      otherValid: issuer.issue(5),
    };
    await new Promise((r) => setTimeout(r, 5));
    // Ended through another node's service: this one learns it from the database only.
    const elsewhere = new TokenService(dbh.db, options);
    await elsewhere.revoke(await elsewhere.verify(tokens.revoked));
    expect(await elsewhere.revokeAll(4)).toBe(true);
    await dbh.db.updateTable('users').set({ banned_at: Date.now() }).where('id', '=', 3).execute();
    const expected = { valid: true, alsoValid: true, revoked: false, banned: false, ended: false, gone: false, otherValid: true };

    const outcome = (service: TokenService, token: string) => service.verify(token).then(() => true, (err: { reason?: string }) => (err.reason === 'token_invalid' ? false : Promise.reject(err)));
    // In one turn on one service, which knows nothing of the endings: one batch.
    const batched = await Promise.all(Object.values(tokens).map((token) => outcome(issuer, token)));
    expect(Object.fromEntries(Object.keys(tokens).map((name, i) => [name, batched[i]]))).toEqual(expected);
    // Alone: a fresh service per token, one at a time (the prepared single-session statement).
    const alone: Record<string, boolean> = {};
    for (const [name, token] of Object.entries(tokens)) alone[name] = await outcome(new TokenService(dbh.db, options), token);
    expect(alone).toEqual(expected);
  });
});
