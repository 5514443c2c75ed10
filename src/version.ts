import { existsSync, readFileSync } from 'node:fs';

/** package.json, above this file in the source tree (src/) and in the build (dist/src/). */
function packageJson(): { version: string } {
  for (const up of ['../package.json', '../../package.json']) {
    const url = new URL(up, import.meta.url);
    if (existsSync(url)) {
      const json = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string };
      if (json.name === 'weim') return json;
    }
  }
  throw new Error('package.json of weim not found');
}

/** This build's version, from package.json. */
export const WEIM_VERSION: string = packageJson().version;
