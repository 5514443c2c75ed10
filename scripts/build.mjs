// `npm run build` (run by `npm ci` through `prepare`): the server compiled by tsc into dist/ (the
// worker threads' plain .mjs files copied beside it) and the web app bundled into dist/web/, so that
// `npm start` runs `node dist/src/main.js` with no TypeScript loader and no bundler. Tests, benches
// and `npm run dev` run the sources through tsx.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const step = (label, command, args) => {
  const started = Date.now();
  const run = spawnSync(command, args, { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`build: ${label} failed`);
    process.exit(run.status ?? 1);
  }
  console.log(`build: ${label} (${Date.now() - started} ms)`);
};

rmSync('dist/src', { recursive: true, force: true });
rmSync('dist/migrations', { recursive: true, force: true });
step('tsc → dist/', process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json']);
let copied = 0;
const copyMjs = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyMjs(path);
    else if (entry.name.endsWith('.mjs')) {
      cpSync(path, join('dist', path), { recursive: false });
      copied++;
    }
  }
};
copyMjs('src');
console.log(`build: ${copied} worker .mjs files copied`);
// The web chat app, bundled once here: the compiled server serves dist/web/ and runs no esbuild.
step('web app → dist/web/', process.execPath, ['dist/src/cli/build-web.js']);
