import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { DbHandle } from '../src/db/connect.js';
import { createNode, type WeimNode } from '../src/node.js';
import { WEB_CSP } from '../src/ops/web.routes.js';
import { buildWeb } from '../src/ops/web.build.js';
import { browserAvailable, launchBrowser, screenshotPath } from './helpers/browser.js';
import { openTestDatabase } from './helpers/database.js';
import { startTestNode } from './helpers/node.js';

/** A small RGB PNG with a blue-to-green gradient (a picture that looks like one in the screenshots). */
function gradientPng(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) rows.set([40 + Math.round((x / width) * 60), 110 + Math.round((y / height) * 120), 235 - Math.round((x / width) * 120)], y * (width * 3 + 1) + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const repoConfig = new URL('../config.yml', import.meta.url).pathname;

/** A node on `port` (0: any) over `dbh` with attachments in `dataDir`: stop it and start another on the same port and data. */
async function startNode(dbh: DbHandle, dataDir: string, port: number): Promise<{ node: WeimNode; url: string }> {
  const config = loadConfig({
    WEIM_CONFIG: repoConfig, WEIM_DATA_DIR: dataDir, WEIM_AUTH_BCRYPT_COST: '4', WEIM_LOG_LEVEL: 'silent',
    WEIM_SERVER_DRAIN_DELAY_MS: '0', WEIM_SERVER_DRAIN_CLOSES_PER_SECOND: '1000000',
    // Chromium keeps spare pre-connected sockets with no request on them: a stop waits this long for them.
    WEIM_SERVER_SHUTDOWN_TIMEOUT_MS: '500',
  });
  const node = await createNode(config, pino({ level: 'silent' }), { database: dbh });
  return { node, url: await node.listen(port, '127.0.0.1') };
}

describe('the web app: built, served, budgeted', () => {
  it('serves index.html (no-cache) and hashed assets (immutable) under the strict CSP; web.enabled: false serves nothing at /', async () => {
    const on = await startTestNode('sqlite');
    const off = await startTestNode('sqlite', { WEIM_WEB_ENABLED: 'false' });
    try {
      const index = await fetch(`${on.url}/`);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toMatch(/^text\/html/);
      expect(index.headers.get('cache-control')).toBe('no-cache');
      expect(index.headers.get('content-security-policy')).toBe(WEB_CSP);
      const html = await index.text();
      expect(html).not.toMatch(/<script>|<style|style=/); // nothing inline: the CSP would refuse it
      const assets = [...html.matchAll(/(?:src|href)="\/assets\/([^"]+)"/g)].map((m) => m[1]!);
      expect(assets.some((a) => /^main-[A-Z0-9]{8}\.js$/.test(a))).toBe(true);
      expect(assets.some((a) => /^main-[A-Z0-9]{8}\.css$/.test(a))).toBe(true);
      for (const name of assets) {
        const res = await fetch(`${on.url}/assets/${name}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      }
      expect((await fetch(`${on.url}/assets/main-NOTTHERE.js`)).status).toBe(404);
      expect((await fetch(`${off.url}/`)).status).toBe(404);
    } finally {
      await on.stop();
      await off.stop();
    }
  });

  it('keeps the JavaScript under 100 KB gzipped', async () => {
    const build = await buildWeb();
    const js = [...build.assets].filter(([name]) => name.endsWith('.js'));
    const gz = js.reduce((n, [, a]) => n + gzipSync(a.bytes).length, 0);
    console.log(`web app: ${js.map(([n, a]) => `${n} ${(a.bytes.length / 1024).toFixed(1)} KB`).join(', ')}, ${(gz / 1024).toFixed(1)} KB gzipped`);
    expect(gz).toBeLessThan(100 * 1024);
  });

  it('type-checks (web/tsconfig.json: DOM lib, apart from the server\'s check)', async () => {
    await promisify(execFile)(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'web/tsconfig.json'], { cwd: new URL('..', import.meta.url).pathname });
  }, 120_000);
});

describe.runIf(browserAvailable())('the web app in a browser: two users', () => {
  let dbh: DbHandle;
  let dataDir: string;
  let server: { node: WeimNode; url: string };
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    dbh = await openTestDatabase('sqlite');
    dataDir = mkdtempSync(join(tmpdir(), 'weim-web-'));
    server = await startNode(dbh, dataDir, 0);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.node.stop();
    await dbh?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function open(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1100, height: 720 }, locale: 'en-US' });
    contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(server.url);
    return page;
  }

  async function register(page: Page, username: string): Promise<void> {
    await page.fill('input[name=username]', username);
    await page.fill('input[name=password]', 'secret123');
    await page.click('button[name=register]');
    await page.waitForSelector('.app .me');
  }

  /** A screenshot without the passing toast in it. */
  const shot = async (page: Page, name: string) => {
    await page.locator('#toast').evaluateAll((els) => els.forEach((e) => (e as unknown as { remove(): void }).remove()));
    await page.screenshot({ path: screenshotPath(name) });
  };
  const conv = (page: Page, title: string) => page.locator('.conv', { has: page.locator('.title', { hasText: new RegExp(`^${title}$`) }) });
  const bubble = (page: Page, text: string) => page.locator('.messages .msg .body', { hasText: text });

  it('register, befriend, chat both ways live, presence, unread, a picture, reload, a server restart', async () => {
    const alice = await open();
    await alice.waitForSelector('.login-card');
    await shot(alice, 'web-login');
    // The language toggle: Chinese and back (the locale here is en-US).
    await alice.click('button[name=lang]');
    expect(await alice.locator('button[name=login]').innerText()).toBe('登录');
    await alice.click('button[name=lang]');
    expect(await alice.locator('button[name=login]').innerText()).toBe('Log in');
    await register(alice, 'alice_web');
    const bob = await open();
    await register(bob, 'bob_web');

    // Alice finds Bob and asks; Bob sees the request arrive live and accepts.
    await alice.click('button[name=tab-friends]');
    await alice.fill('input[name=user-search]', 'bob_w');
    await alice.click('button[name=search-users]');
    await alice.click('li[data-user=bob_web] button[name=add-friend]');
    await bob.locator('button[name=tab-friends] .badge', { hasText: '1' }).waitFor();
    await bob.click('button[name=tab-friends]');
    await bob.click('.requests li[data-user=alice_web] button[name=accept]');
    // Both see each other as friends, online (presence dots).
    await bob.locator('.friends li[data-user=alice_web] .dot.on').waitFor();
    await alice.locator('.friends li[data-user=bob_web] .dot.on').waitFor();
    await shot(alice, 'web-friends');

    // Alice writes; Bob sees an unread count in his conversation list, then opens it.
    await alice.click('.friends li[data-user=bob_web]');
    await alice.fill('textarea[name=message]', 'hello bob');
    await alice.press('textarea[name=message]', 'Enter');
    await bubble(alice, 'hello bob').waitFor();
    await bob.click('button[name=tab-chats]');
    await conv(bob, 'alice_web').locator('.unread', { hasText: '1' }).waitFor();
    await shot(bob, 'web-unread');
    await conv(bob, 'alice_web').click();
    await bubble(bob, 'hello bob').waitFor();
    await conv(bob, 'alice_web').locator('.unread').waitFor({ state: 'detached' });
    await bob.fill('textarea[name=message]', 'hi alice');
    // Bob is typing (Cmd 27 → 28): Alice, who has the chat open, sees it until his message comes.
    await alice.locator('.chat-title .typing', { hasText: 'typing…' }).waitFor();
    await bob.click('button[name=send]');
    await bubble(alice, 'hi alice').waitFor();
    await alice.locator('.chat-title .typing').waitFor({ state: 'detached' });
    // Alice had the chat open: Bob's reply is read at once, and Bob's side says so.
    await bob.locator('.msg.own .read').waitFor();
    await alice.locator('.chat-title .dot.on').waitFor();

    // Bob sends a picture; Alice sees it drawn.
    await bob.setInputFiles('input[name=file]', { name: 'dot.png', mimeType: 'image/png', buffer: gradientPng(180, 120) });
    const picture = alice.locator('.messages .msg .body.pic img');
    await picture.waitFor();
    await expect.poll(() => picture.evaluate((img) => (img as unknown as { complete: boolean; naturalWidth: number }).complete && (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(180);
    await shot(alice, 'web-chat');
    // Any other file goes as a file message: a link.
    await bob.setInputFiles('input[name=file]', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('some notes\n') });
    const link = alice.locator('.messages .msg .body.file a');
    await link.waitFor();
    expect(await (await fetch(new URL((await link.getAttribute('href'))!, server.url))).text()).toBe('some notes\n');

    // Alice reloads: she is still signed in and her history is there.
    await alice.reload();
    await conv(alice, 'bob_web').click();
    for (const text of ['hello bob', 'hi alice']) await bubble(alice, text).waitFor();
    await alice.locator('.messages .msg .body.pic img').waitFor();

    // Groups: Alice creates one, Bob finds it and asks to join, Alice accepts, they talk there.
    await alice.click('button[name=tab-groups]');
    await alice.fill('input[name=group-name]', 'Web testers');
    await alice.click('button[name=create-group]');
    await bob.click('button[name=tab-groups]');
    await bob.fill('input[name=group-search]', 'testers');
    await bob.click('button[name=search-groups]');
    await bob.click('li[data-group="Web testers"] button[name=join]');
    await alice.click('.join-requests li[data-user=bob_web] button[name=accept-join]');
    await bob.click('.groups li[data-group="Web testers"]');
    await bob.fill('textarea[name=message]', 'hello group');
    await bob.press('textarea[name=message]', 'Enter');
    await bubble(alice, 'hello group').waitFor();
    await alice.click('button[name=members]');
    await expect.poll(() => alice.locator('.member-list li').count()).toBe(2);
    await shot(alice, 'web-groups');

    // Nearby: Bob shares where he is; Alice, a kilometre away, finds him.
    await bob.context().grantPermissions(['geolocation']);
    await bob.context().setGeolocation({ latitude: 31.2304, longitude: 121.4737 });
    await bob.click('button[name=tab-nearby]');
    await bob.click('button[name=find-nearby]');
    await bob.locator('.nearby li.empty, .nearby li[data-user]').first().waitFor();
    await alice.context().grantPermissions(['geolocation']);
    await alice.context().setGeolocation({ latitude: 31.2394, longitude: 121.4737 });
    await alice.click('button[name=tab-nearby]');
    await alice.click('button[name=find-nearby]');
    await alice.locator('.nearby li[data-user=bob_web]', { hasText: '1.0 km' }).waitFor();
    await shot(alice, 'web-nearby');
    expect(problems).toEqual([]);

    // The server goes away: both show the banner; a message written meanwhile waits.
    await alice.click('button[name=tab-chats]');
    await conv(alice, 'bob_web').click();
    await bob.click('button[name=tab-chats]');
    await conv(bob, 'alice_web').click();
    const port = Number(new URL(server.url).port);
    await server.node.stop();
    await alice.locator('.banner.show').waitFor();
    await bob.locator('.banner.show').waitFor();
    await shot(alice, 'web-reconnecting');
    await alice.fill('textarea[name=message]', 'written while down');
    await alice.press('textarea[name=message]', 'Enter');
    await alice.locator('.msg.pending').waitFor();

    // A new node on the same port and data: the banner goes, the waiting message arrives, and so does a new one.
    const restartedAt = Date.now();
    server = await startNode(dbh, dataDir, port);
    await bob.locator('.banner.show').waitFor({ state: 'detached', timeout: 20_000 });
    await alice.locator('.banner.show').waitFor({ state: 'detached', timeout: 20_000 });
    console.log(`web app: both back online ${Date.now() - restartedAt} ms after the restart began`);
    await bubble(bob, 'written while down').waitFor();
    await bob.fill('textarea[name=message]', 'after the restart');
    await bob.press('textarea[name=message]', 'Enter');
    await bubble(alice, 'after the restart').waitFor();
    await alice.locator('.msg.pending').waitFor({ state: 'detached' });
    // Each sees each message once.
    for (const page of [alice, bob]) {
      for (const text of ['hello bob', 'hi alice', 'written while down', 'after the restart']) expect(await bubble(page, text).count()).toBe(1);
    }
    await shot(bob, 'web-after-restart');

    // Alice in a second browser (no localStorage): logs in, gets live messages, and the history once.
    const alice2 = await open();
    await alice2.fill('input[name=username]', 'alice_web');
    await alice2.fill('input[name=password]', 'secret123');
    await alice2.click('button[name=login]');
    await conv(alice2, 'bob_web').waitFor();
    await bob.fill('textarea[name=message]', 'to every device');
    await bob.press('textarea[name=message]', 'Enter');
    await conv(alice2, 'bob_web').locator('.last', { hasText: 'to every device' }).waitFor();
    await conv(alice2, 'bob_web').click();
    for (const text of ['hello bob', 'hi alice', 'written while down', 'after the restart']) await bubble(alice2, text).waitFor();
    expect(await bubble(alice2, 'to every device').count()).toBe(1);
    // Only the socket's refused reconnects (the server was down) may be reported; nothing of CSP.
    expect(problems.filter((p) => !/WebSocket connection|ERR_CONNECTION_REFUSED/.test(p))).toEqual([]);
    for (const c of contexts) await c.close();
  }, 120_000);
});
