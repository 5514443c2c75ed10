import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from './setup/processes.js';
import { post } from './helpers/http.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const children: ChildProcess[] = [];

/** Runs `src/main.ts` as `npm start` does, in a clean environment plus `env`. */
function startMain(env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = (text: string, timeoutMs = 20_000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${text}" in output:\n${stdout}\n${stderr}`)), timeoutMs);
      const check = () => {
        if (stdout.includes(text)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', check);
      check();
    });
  return { child, exited, logged, output: () => ({ stdout, stderr }) };
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('the weim process', () => {
  it('refuses to start in production with the default JWT secret, naming the key', async () => {
    const run = startMain({ NODE_ENV: 'production', WEIM_DATA_DIR: mkdtempSync(join(tmpdir(), 'weim-p-')) });
    expect(await run.exited).toBe(2);
    expect(run.output().stderr).toContain('auth.jwt_secret');
  });

  it('refuses a bad config value, naming the key', async () => {
    const run = startMain({ PORT: 'http' });
    expect(await run.exited).toBe(2);
    expect(run.output().stderr).toContain('server.port');
  });

  it('starts embedded with no config, serves, and stops gracefully on SIGTERM mid-request', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'weim-p-'));
    const port = await freePort();
    const run = startMain({ WEIM_DATA_DIR: dataDir, PORT: String(port), WEIM_AUTH_BCRYPT_COST: '13' });
    await run.logged('weim listening');
    expect(existsSync(join(dataDir, 'weim.sqlite'))).toBe(true);
    const api = `http://127.0.0.1:${port}/api/v1`;
    // bcrypt at cost 13 takes several hundred ms: the register below is still running at SIGTERM.
    const inFlight = post(api, '/register', { username: 'graceful_1', password: 'secret123' });
    await new Promise((r) => setTimeout(r, 100));
    run.child.kill('SIGTERM');
    const response = await inFlight;
    expect(response.code).toBe(0);
    expect(await run.exited).toBe(0);
    expect(run.output().stdout).toContain('"msg":"stopped"');
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    rmSync(dataDir, { recursive: true, force: true });
  });
});
