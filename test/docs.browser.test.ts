import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, launchBrowser, screenshotPath } from './helpers/browser.js';
import { startTestNode, type TestNode } from './helpers/node.js';

/** The API reference at /docs/ in a real browser (Debian's chromium through playwright-core). */
describe.runIf(browserAvailable())('the API reference in a browser', () => {
  let t: TestNode;
  let browser: Browser;
  beforeAll(async () => {
    t = await startTestNode('sqlite');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('lists every route, breaks no CSP rule, and "Try it out" registers a user for real', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`${t.url}/docs/`);
    await page.waitForSelector('.opblock-summary-path');
    const doc = (await (await fetch(`${t.url}/api/v1/openapi.json`)).json()) as { paths: object };
    expect(await page.locator('.opblock').count()).toBe(Object.keys(doc.paths).length);
    await page.screenshot({ path: screenshotPath('api-docs'), fullPage: false });

    const register = page.locator('.opblock', { has: page.locator('.opblock-summary-path', { hasText: /^\/api\/v1\/register$/ }) });
    await register.locator('.opblock-summary').click();
    await register.locator('button.try-out__btn').first().click();
    await register.locator('textarea.body-param__text').fill(JSON.stringify({ username: 'from_the_docs', password: 'secret123' }));
    await register.locator('button.execute').click();
    await register.locator('.live-responses-table tr.response .response-col_status').first().waitFor();
    expect((await register.locator('.live-responses-table tr.response .response-col_status').first().innerText()).trim()).toBe('200');
    const stored = await t.dbh.db.selectFrom('users').select('username').where('username', '=', 'from_the_docs').executeTakeFirst();
    expect(stored?.username).toBe('from_the_docs');
    expect(problems).toEqual([]);
    await page.close();
  });
});
