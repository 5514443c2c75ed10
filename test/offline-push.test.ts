import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHookCall } from '../src/modules/moderation/index.js';
import { testDialects } from './helpers/database.js';
import { makeFriends, post } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { type Delivered, fakeApns, fakeFcm, STALE } from './helpers/push-fakes.js';
import { signedInSocket } from './helpers/ws.js';
import { waitUntil } from './helpers/wait.js';

const SECRET = 'push-webhook-secret-of-32-characters!';

/** The generic pusher's receiver: checks the signature, answers 410 for STALE. */
async function fakePusher() {
  const delivered: Delivered[] = [];
  let unsigned = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      if (req.headers['x-weim-signature'] !== signHookCall(SECRET, String(req.headers['x-weim-timestamp']), String(req.headers['x-weim-delivery']), raw)) unsigned++;
      const note = JSON.parse(raw) as Delivered;
      if (note.token === STALE) return void res.writeHead(410).end();
      delivered.push(note);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { delivered, unsigned: () => unsigned, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`, close: () => server.close() };
}

/**
 * Offline push against loopback fakes that check what the real providers check (FCM: the OAuth
 * JWT and the v1 message; APNs: the ES256 provider token and HTTP/2 headers; the generic pusher:
 * the signature). What it does not prove: that Google and Apple accept these credentials, deliver
 * to a phone, or answer exactly as the fakes do in every error case.
 */
describe.each(testDialects())('offline push on %s', (dialect) => {
  let t: TestNode;
  let fcm: Awaited<ReturnType<typeof fakeFcm>>;
  let apns: Awaited<ReturnType<typeof fakeApns>>;
  let pusher: Awaited<ReturnType<typeof fakePusher>>;
  beforeAll(async () => {
    [fcm, apns, pusher] = await Promise.all([fakeFcm(), fakeApns(), fakePusher()]);
    const dir = mkdtempSync(join(tmpdir(), 'weim-push-'));
    writeFileSync(join(dir, 'service-account.json'), JSON.stringify(fcm.account));
    writeFileSync(join(dir, 'AuthKey.p8'), apns.key);
    t = await startTestNode(dialect, {
      WEIM_OFFLINE_PUSH_WEBHOOK_URL: pusher.url, WEIM_OFFLINE_PUSH_WEBHOOK_SECRET: SECRET,
      WEIM_OFFLINE_PUSH_FCM_SERVICE_ACCOUNT_FILE: join(dir, 'service-account.json'), WEIM_OFFLINE_PUSH_FCM_ENDPOINT: fcm.endpoint,
      WEIM_OFFLINE_PUSH_APNS_KEY_FILE: join(dir, 'AuthKey.p8'), WEIM_OFFLINE_PUSH_APNS_KEY_ID: 'KEYID12345', WEIM_OFFLINE_PUSH_APNS_TEAM_ID: 'TEAMID1234',
      WEIM_OFFLINE_PUSH_APNS_TOPIC: 'com.example.weim', WEIM_OFFLINE_PUSH_APNS_HOST: apns.host,
    });
  });
  afterAll(async () => {
    await t.stop();
    fcm.close();
    apns.close();
    pusher.close();
  });
  const devices = async (userId: number) => (await t.dbh.db.selectFrom('devices').select(['platform', 'token']).where('user_id', '=', userId).orderBy('id').execute()).map((d) => `${d.platform}:${d.token}`);

  it('a user with no socket gets each device notified through its provider; gone tokens are forgotten; an online user gets none', async () => {
    const { a, b } = await makeFriends(t.api);
    await post(t.api, '/user/update/nickname', { nickname: 'Alice' }, { token: a.token });
    for (const [platform, token] of [['fcm', 'fcm-good'], ['fcm', STALE], ['apns', 'a1b2c3'], ['apns', STALE], ['webhook', 'hook-good'], ['webhook', STALE]]) {
      expect((await post(t.api, '/user/device/register', { platform, token }, { token: b.token })).code).toBe(0);
    }
    const sent = (await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'are you there?' }, { token: a.token })).data;
    await waitUntil(async () => fcm.delivered.length + apns.delivered.length + pusher.delivered.length === 3 && (await devices(b.user.id)).length === 3);
    const expected = { title: 'Alice', body: 'are you there?', badge: 1, data: { conversation_id: String(sent.conversation_id), seq: String(sent.seq), message_id: String(sent.id), ope: '0' } };
    expect(fcm.delivered).toEqual([{ token: 'fcm-good', ...expected }]);
    expect(apns.delivered).toEqual([{ token: 'a1b2c3', ...expected }]);
    expect(pusher.delivered).toEqual([{ token: 'hook-good', ...expected }]);
    expect([fcm.refused, apns.refused, pusher.unsigned()]).toEqual([[], [], 0]);
    expect(await devices(b.user.id)).toEqual(['fcm:fcm-good', 'apns:a1b2c3', 'webhook:hook-good']);
    // Online: nothing is pushed.
    const s = await signedInSocket(t.url, b.token);
    await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'now you are' }, { token: a.token });
    await s.next((f) => f.Body === 'now you are');
    await new Promise((r) => setTimeout(r, 300));
    expect(fcm.delivered.length + apns.delivered.length + pusher.delivered.length).toBe(3);
    s.close();
    await s.closed;
  });

  it('previews off: the body says "New message"; the badge counts what is unread there; devices are the user\'s own to remove', async () => {
    const { a, b } = await makeFriends(t.api);
    await post(t.api, '/user/device/register', { platform: 'webhook', token: `w-${b.user.id}` }, { token: b.token });
    expect((await post(t.api, '/user/device/previews', { previews: 0 }, { token: b.token })).code).toBe(0);
    await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'secret plans' }, { token: a.token });
    await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 1, body: 'https://x/1.png' }, { token: a.token }).catch(() => undefined);
    await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'more' }, { token: a.token });
    await waitUntil(() => pusher.delivered.filter((d) => d.token === `w-${b.user.id}`).length >= 2);
    const mine = pusher.delivered.filter((d) => d.token === `w-${b.user.id}`);
    expect(mine.map((d) => d.body)).toEqual(['New message', 'New message']);
    expect(mine.at(-1)!.badge).toBeGreaterThanOrEqual(2);
    // a cannot remove b's device; b can.
    expect((await post(t.api, '/user/device/unregister', { platform: 'webhook', token: `w-${b.user.id}` }, { token: a.token })).status).toBe(404);
    expect((await post(t.api, '/user/device/unregister', { platform: 'webhook', token: `w-${b.user.id}` }, { token: b.token })).code).toBe(0);
    expect(await devices(b.user.id)).toEqual([]);
    for (const body of [{ platform: 'sms', token: 'x' }, { platform: 'fcm', token: '' }, { platform: 'fcm', token: 'has space' }, { platform: 'fcm', token: 'x'.repeat(256) }, { platform: 'fcm', token: null }]) {
      expect((await post(t.api, '/user/device/register', body, { token: b.token })).status, JSON.stringify(body)).toBe(400);
    }
  });
});
