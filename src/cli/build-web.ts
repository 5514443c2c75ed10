import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { buildWeb, WEB_DIST } from '../ops/web.build.js';

/**
 * `npm run build:web`: writes the web chat app to dist/web/ (index.html and assets/<name>-<hash>.*),
 * the same files weim builds in memory and serves at `/` (docs/web.md). For static hosting or a look.
 */
const build = await buildWeb({ sourcemap: true });
rmSync(WEB_DIST, { recursive: true, force: true });
mkdirSync(join(WEB_DIST, 'assets'), { recursive: true });
writeFileSync(join(WEB_DIST, 'index.html'), build.index);
for (const [name, asset] of build.assets) {
  writeFileSync(join(WEB_DIST, 'assets', name), asset.bytes);
  const gz = name.endsWith('.map') ? '' : `, ${(gzipSync(asset.bytes).length / 1024).toFixed(1)} KB gzipped`;
  console.log(`dist/web/assets/${name}: ${(asset.bytes.length / 1024).toFixed(1)} KB${gz}`);
}
console.log('dist/web/index.html');
