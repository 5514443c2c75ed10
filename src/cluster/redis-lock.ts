import type { Redis } from 'ioredis';

/** Deletes KEYS[1] if it still holds ARGV[1] (a lock released by its holder only). */
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Runs `work` holding the Redis lock `key` (as `holder`), which expires by itself after
 * `seconds` if its holder dies. `wait`: until it is free (a node's own entries, at start and on a
 * restore); else skipped when another holds it (clearing a dead node: one live node does it).
 * Answers what `work` did, or undefined when it was skipped.
 */
export async function withRedisLock<T>(redis: Redis, key: string, holder: string, options: { wait: boolean; seconds: number }, work: () => Promise<T>): Promise<T | undefined> {
  const deadline = Date.now() + (options.seconds + 5) * 1000;
  while ((await redis.set(key, holder, 'EX', options.seconds, 'NX')) !== 'OK') {
    if (!options.wait) return undefined;
    if (Date.now() > deadline) throw new Error(`the lock ${key} was not released`);
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await work();
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, holder);
  }
}
