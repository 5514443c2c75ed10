import { describe, expect, it } from 'vitest';
import { watchLoopStalls } from '../src/ops/loop-stalls.js';

/** Holds this process's event loop for `ms` (what ~17,000 socket closes in one turn did to a worker). */
function block(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe('watchLoopStalls', () => {
  it('logs a stall of the event loop with how long it lasted, and nothing once stopped', async () => {
    const warnings: Array<{ blockedMs: number; leaseSeconds?: number }> = [];
    const stop = watchLoopStalls({ warn: (obj: object) => warnings.push(obj as never) } as never, { thresholdMs: 400, intervalMs: 50, leaseSeconds: 5 });
    await new Promise((r) => setTimeout(r, 120));
    block(1000);
    await expect.poll(() => warnings.length).toBeGreaterThanOrEqual(1);
    const stall = warnings.find((w) => w.blockedMs >= 900);
    expect(stall).toMatchObject({ leaseSeconds: 5 });
    stop();
    const seen = warnings.length;
    block(600);
    await new Promise((r) => setTimeout(r, 200));
    expect(warnings).toHaveLength(seen);
  });
});
