/**
 * Settles as `promise` does, or rejects with `onTimeout()` when it has not settled within `ms`
 * (the timer is cleared either way).
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error = () => new Error(`no answer within ${ms} ms`)): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
