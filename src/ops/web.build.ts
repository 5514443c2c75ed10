import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Running the compiled build (dist/src/…, `npm start`) rather than the sources through tsx. */
const COMPILED = import.meta.url.endsWith('.js');
/** The web chat app's sources (web/) and where `npm run build:web` writes it (dist/web/), from either tree. */
export const WEB_ROOT = fileURLToPath(new URL(COMPILED ? '../../../web' : '../../web', import.meta.url));
export const WEB_DIST = fileURLToPath(new URL(COMPILED ? '../../web' : '../../dist/web', import.meta.url));

export interface WebAsset {
  bytes: Uint8Array;
  type: string;
}

/** The built app: index.html (naming the hashed files) and the hashed files by name. */
export interface WebBuild {
  index: string;
  assets: Map<string, WebAsset>;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Bundles web/src/main.ts (and the CSS it imports) with esbuild into content-hashed files
 * (`assets/main-<hash>.js`, `assets/main-<hash>.css`) in memory, and fills web/index.html's placeholders with
 * their names. esbuild is imported only here, when the app is first asked for.
 */
export async function buildWeb(options: { sourcemap?: boolean } = {}): Promise<WebBuild> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [join(WEB_ROOT, 'src', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: options.sourcemap ? 'linked' : false,
    legalComments: 'none',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: join(WEB_DIST, 'assets'),
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const assets = new Map<string, WebAsset>();
  for (const file of result.outputFiles) {
    const name = relative(join(WEB_DIST, 'assets'), file.path);
    const ext = name.slice(name.lastIndexOf('.'));
    assets.set(name, { bytes: file.contents, type: TYPES[ext] ?? 'application/octet-stream' });
  }
  const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint !== undefined);
  if (!entry) throw new Error('web build: esbuild named no entry output');
  const script = basename(entry[0]);
  const style = entry[1].cssBundle ? basename(entry[1].cssBundle) : undefined;
  const template = readFileSync(join(WEB_ROOT, 'index.html'), 'utf8');
  const index = template
    .replace('<!--style-->', style ? `<link rel="stylesheet" href="/assets/${style}">` : '')
    .replace('<!--script-->', `<script type="module" src="/assets/${script}"></script>`);
  return { index, assets };
}

/**
 * The app to serve: the compiled server (`npm start`) serves what `npm run build` wrote to
 * dist/web/ (no esbuild at run time); from the sources (tests, `npm run dev`) it is built in memory,
 * so that it is never stale.
 */
export async function loadWeb(): Promise<WebBuild> {
  if (!COMPILED) return buildWeb();
  const assets = new Map<string, WebAsset>();
  for (const name of readdirSync(join(WEB_DIST, 'assets'))) {
    const ext = name.slice(name.lastIndexOf('.'));
    assets.set(name, { bytes: readFileSync(join(WEB_DIST, 'assets', name)), type: TYPES[ext] ?? 'application/octet-stream' });
  }
  return { index: readFileSync(join(WEB_DIST, 'index.html'), 'utf8'), assets };
}
