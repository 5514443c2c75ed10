import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type Response, Router } from 'express';

/** The swagger-ui-dist package's directory; its files are read once, when first asked for. */
const DIST = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const assetBytes = new Map<string, Buffer>();

/** What /docs serves from swagger-ui-dist (nothing else of the package is reachable). */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>weim API</title>
<link rel="stylesheet" href="swagger-ui.css">
<link rel="icon" type="image/png" href="favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="swagger-ui-bundle.js"></script>
<script src="init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '../api/v1/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

/** No CDN, no inline script; swagger-ui sets inline styles and draws images from data: URLs. */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The API reference at `/docs/`: swagger-ui from the `swagger-ui-dist` package (served from this
 * node, no CDN) reading `/api/v1/openapi.json`, under a strict CSP.
 */
export function docsRoutes(specs: { openApi: () => unknown; asyncApi: () => unknown }, router: Router = Router({ strict: true })): Router {
  const served = (path: string, build: () => unknown) => {
    let document: string | undefined;
    router.get(path, (_req, res) => {
      document ??= JSON.stringify(build());
      res.type('application/json').setHeader('Cache-Control', 'no-cache').send(document);
    });
  };
  served('/api/v1/openapi.json', specs.openApi);
  served('/api/v1/asyncapi.json', specs.asyncApi);
  router.get('/docs', (_req, res) => res.redirect(301, '/docs/'));
  const page = (type: string, body: string | Buffer) => (_req: unknown, res: Response) => {
    res.setHeader('Content-Security-Policy', CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.type(type).setHeader('Cache-Control', 'no-cache').send(body);
  };
  router.get('/docs/', page('text/html; charset=utf-8', PAGE));
  router.get('/docs/init.js', page('text/javascript; charset=utf-8', INIT));
  for (const [name, type] of Object.entries(ASSETS)) {
    router.get(`/docs/${name}`, (_req, res) => {
      let bytes = assetBytes.get(name);
      if (!bytes) assetBytes.set(name, (bytes = readFileSync(join(DIST, name))));
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.type(type).setHeader('Cache-Control', 'public, max-age=3600').send(bytes);
    });
  }
  return router;
}
