import type { Logger } from 'pino';

/**
 * Warns when this process's event loop was blocked for `thresholdMs` or more (a timer came that
 * late): everything a node does on time waits behind such a stall, the cluster lease's renewal
 * first (a 5-s lease is lost after one long enough). Measured on a 2-core host: a worker whose
 * ~17,000 sockets all closed at once stalled 2.5–2.8 s in one piece. Returns the stop function.
 */
export function watchLoopStalls(log: Pick<Logger, 'warn'>, options: { thresholdMs: number; leaseSeconds?: number; intervalMs?: number }): () => void {
  const interval = options.intervalMs ?? 200;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const blockedMs = Math.round(now - last - interval);
    last = now;
    if (blockedMs < options.thresholdMs) return;
    log.warn({ blockedMs, ...(options.leaseSeconds ? { leaseSeconds: options.leaseSeconds } : {}) }, 'event loop blocked: timers, pings and the cluster lease waited');
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
