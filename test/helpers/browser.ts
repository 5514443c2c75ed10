import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium (browsers are not downloaded here); WEIM_CHROMIUM names another binary. */
export const CHROMIUM = process.env.WEIM_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether browser suites can run. Outside CI a missing chromium is reported and those suites are
 * skipped; under CI it fails the run (`.ci/run` installs it).
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI: ${CHROMIUM} is missing (apt-get install -y chromium); browser suites cannot run`);
  console.warn(`!!! ${CHROMIUM} not found: browser suites SKIPPED (CI would fail instead)`);
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Where screenshots go: .test-results/screenshots/<name>.png (look at them; docs/screenshots keeps chosen ones). */
export function screenshotPath(name: string): string {
  const dir = join('.test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}
