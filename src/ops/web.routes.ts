import { type Response, Router } from 'express';
import type { Logger } from 'pino';
import { loadWeb, type WebBuild } from './web.build.js';

/** The app's code and styles come from this origin only; pictures may be data:/blob: previews. */
export const WEB_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** One build per process, made (sources) or read (compiled) when the app is first asked for. */
let building: Promise<WebBuild> | undefined;
function theBuild(): Promise<WebBuild> {
  building ??= loadWeb().catch((err: unknown) => {
    building = undefined; // the next request tries again
    throw err;
  });
  return building;
}

function secure(res: Response): void {
  res.setHeader('Content-Security-Policy', WEB_CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
}

/**
 * The web chat app (web/, docs/web.md) at `/`: index.html (`no-cache`: it names the current
 * hashed files) and `/assets/<name>-<hash>.*` (immutable for a year), under a strict CSP.
 */
export function webRoutes(log: Logger, router: Router = Router({ strict: true })): Router {
  const unavailable = (res: Response, err: unknown) => {
    log.error({ err }, 'web app build failed');
    res.status(503).type('text/plain; charset=utf-8').setHeader('Cache-Control', 'no-store').send('the web app could not be built (see the server log)\n');
  };
  router.get(['/', '/index.html'], async (_req, res) => {
    let build: WebBuild;
    try {
      build = await theBuild();
    } catch (err) {
      return unavailable(res, err);
    }
    secure(res);
    res.type('text/html; charset=utf-8').setHeader('Cache-Control', 'no-cache').send(build.index);
  });
  router.get('/assets/:name', async (req, res, next) => {
    let build: WebBuild;
    try {
      build = await theBuild();
    } catch (err) {
      return unavailable(res, err);
    }
    const asset = build.assets.get(req.params.name);
    if (!asset) return next();
    secure(res);
    res.type(asset.type).setHeader('Cache-Control', 'public, max-age=31536000, immutable').send(Buffer.from(asset.bytes));
  });
  return router;
}
