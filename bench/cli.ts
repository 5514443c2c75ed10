/** What the benches' command lines share: argument checks, failing with a message, and running main with its clean-ups. */

/** Prints `message` and exits 2 (a bad argument or a missing tool). */
export function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

/** `--name`'s value as a whole number from `min` to `max`, or fail. */
export function wholeArg(value: unknown, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/**
 * Runs `main`, then the clean-ups (servers, processes, directories) in the reverse order of their
 * registration: after it ends (exit 0), after it fails (exit 1, the error printed under `name`) and
 * on Ctrl-C (exit 130). A clean-up that fails is printed and the others still run.
 */
export function runBench(name: string, main: () => Promise<void>, cleanups: Array<() => Promise<void> | void>): void {
  const cleanUp = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (err) {
        console.error('cleanup failed:', err instanceof Error ? err.message : err);
      }
    }
  };
  process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  main().then(
    async () => {
      await cleanUp();
      process.exit(0);
    },
    async (err: unknown) => {
      console.error(`${name} bench failed:`, err);
      await cleanUp();
      process.exit(1);
    },
  );
}
