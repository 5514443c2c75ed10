import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import type { Registry } from 'prom-client';
import { withTimeout } from '../timeout.js';

export interface HealthDeps {
  /** Throws when a dependency the node needs is unreachable. */
  checkReady(): Promise<void>;
  /** True once shutdown has begun: the node stops advertising readiness. */
  isDraining(): boolean;
  registry: Registry;
  /** When set, `/metrics` answers only `Authorization: Bearer <token>` (401 otherwise). */
  metricsToken: string;
}

/** `/healthz` (process up), `/readyz` (dependencies reachable, not draining), `/metrics`. */
export function healthRoutes(deps: HealthDeps, router: Router = Router()): Router {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    if (deps.isDraining()) {
      res.status(503).json({ status: 'draining' });
      return;
    }
    try {
      await withTimeout(deps.checkReady(), 2000);
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  });
  const expected = Buffer.from(`Bearer ${deps.metricsToken}`);
  router.get('/metrics', async (req, res) => {
    const given = Buffer.from(req.get('authorization') ?? '');
    if (deps.metricsToken !== '' && !(given.length === expected.length && timingSafeEqual(given, expected))) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      res.status(401).json({ status: 'unauthorized' });
      return;
    }
    res.setHeader('Content-Type', deps.registry.contentType);
    res.send(await deps.registry.metrics());
  });
  return router;
}
