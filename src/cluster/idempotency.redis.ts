import type { Redis } from 'ioredis';
import { type Begun, type BeginOptions, type IdempotencyStore, newId, type StoredAnswer } from './idempotency.js';

/**
 * KEYS: the entry (a hash), its lease. ARGV: fingerprint, new op, new token, ttl seconds, lease ms.
 * A new key, a failed one, or a running one whose lease key has expired (its node died) is
 * claimed; otherwise the script says what holds it.
 */
const BEGIN = `if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'op', ARGV[2], 'state', 'running', 'token', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
  return {'started', ARGV[2], '0'}
end
local e = redis.call('HMGET', KEYS[1], 'fp', 'op', 'state', 'status', 'body')
if e[1] ~= ARGV[1] then return {'mismatch'} end
if e[3] == 'done' then return {'done', e[4], e[5]} end
if e[3] == 'running' and redis.call('EXISTS', KEYS[2]) == 1 then return {'running'} end
redis.call('HSET', KEYS[1], 'state', 'running', 'token', ARGV[3])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[5])
return {'started', e[2], '1'}`;

/** KEYS: entry, lease. ARGV: token, lease ms. */
const RENEW = `if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
return 1`;

/** KEYS: entry, lease. ARGV: token, then the fields to set. The lease goes. */
const SETTLE = `if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('DEL', KEYS[2])
return 1`;

/**
 * Redis, so that every node of a cluster answers a retry: `<prefix>:idem:<key>` is a hash
 * (fingerprint, op, state, token, and once done the answer) that expires `ttlSeconds` after the
 * key's first use; `<prefix>:idem-lease:<key>` exists while an attempt's lease runs (a node that
 * dies stops renewing it, and a retry then resumes). Each step is one script, so two nodes never
 * both claim a key.
 */
export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async begin(key: string, fingerprint: string, options: BeginOptions): Promise<Begun> {
    const token = newId();
    const reply = (await this.redis.eval(BEGIN, 2, ...this.keys(key), fingerprint, newId(), token, options.ttlSeconds, options.leaseMs)) as string[];
    switch (reply[0]) {
      case 'started':
        return { kind: 'started', op: reply[1]!, token, resumed: reply[2] === '1' };
      case 'done':
        return { kind: 'done', answer: { status: Number(reply[1]), body: reply[2]! } };
      case 'running':
        return { kind: 'running' };
      default:
        return { kind: 'mismatch' };
    }
  }

  async renew(key: string, token: string, leaseMs: number): Promise<boolean> {
    return (await this.redis.eval(RENEW, 2, ...this.keys(key), token, leaseMs)) === 1;
  }

  async complete(key: string, token: string, answer: StoredAnswer): Promise<void> {
    await this.redis.eval(SETTLE, 2, ...this.keys(key), token, 'state', 'done', 'status', answer.status, 'body', answer.body);
  }

  async fail(key: string, token: string): Promise<void> {
    await this.redis.eval(SETTLE, 2, ...this.keys(key), token, 'state', 'failed');
  }

  private keys(key: string): [string, string] {
    return [`${this.prefix}:idem:${key}`, `${this.prefix}:idem-lease:${key}`];
  }
}
