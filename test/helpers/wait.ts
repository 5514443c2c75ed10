import { vi } from 'vitest';

/** Resolves once `check` holds (polled every `intervalMs`); rejects after `timeoutMs`, or as soon as `check` throws. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 5000, intervalMs = 20): Promise<void> {
  await vi.waitUntil(check, { timeout: timeoutMs, interval: intervalMs });
}
