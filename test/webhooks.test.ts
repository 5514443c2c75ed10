import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHookCall } from '../src/modules/moderation/index.js';
import { type ChildNode, startChildNode } from './helpers/child-node.js';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { signedInSocket } from './helpers/ws.js';
import { waitUntil } from './helpers/wait.js';

const SECRET = 'webhook-secret-of-at-least-32-chars!!';
type Event = { id: string; type: string; created_at: number; data: Record<string, any> };

/**
 * The business's webhook receiver: checks each POST's signature, keeps every event it accepted (by
 * id: a redelivery is counted, not kept twice), and answers as `mode` says: ok (200), fail (503),
 * or hang (never answers, until `release`).
 */
function receiver(secret = SECRET) {
  const events: Event[] = [];
  const seen = new Set<string>();
  let redelivered = 0;
  let unsigned = 0;
  let posts = 0;
  let mode: 'ok' | 'fail' | 'hang' = 'ok';
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      posts++;
      if (req.headers['x-weim-signature'] !== signHookCall(secret, String(req.headers['x-weim-timestamp']), String(req.headers['x-weim-delivery']), raw)) unsigned++;
      if (mode === 'hang') return void hanging.push(res);
      if (mode === 'fail') return void res.writeHead(503).end();
      const batch = (JSON.parse(raw) as { events: Event[] }).events;
      // A receiver that chokes on one event refuses every batch that holds it.
      if (batch.some((e) => e.data.body === 'poison')) return void res.writeHead(500).end();
      for (const e of batch) {
        if (seen.has(e.id)) redelivered++;
        else {
          seen.add(e.id);
          events.push(e);
        }
      }
      res.writeHead(200).end('{}');
    });
  });
  return {
    events,
    server,
    stats: () => ({ posts, redelivered, unsigned }),
    setMode: (m: typeof mode) => (mode = m),
    release: () => {
      for (const r of hanging.splice(0)) r.destroy();
    },
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`,
    listen: () => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
  };
}

/** This file's waits: longer than the shared default. */
const until = (check: () => boolean | Promise<boolean>, ms?: number) => waitUntil(check, ms ?? 10_000, 50);

const fast = { WEIM_WEBHOOKS_SECRET: SECRET, WEIM_WEBHOOKS_INTERVAL_MS: '50', WEIM_WEBHOOKS_MAX_BACKOFF_MS: '400', WEIM_WEBHOOKS_TIMEOUT_MS: '2000' };

describe.each(testDialects())('webhooks on %s', (dialect) => {
  const r = receiver();
  let t: TestNode;
  beforeAll(async () => {
    await r.listen();
    t = await startTestNode(dialect, { ...fast, WEIM_WEBHOOKS_URL: r.url(), WEIM_PRESENCE_COALESCE_MS: '100' });
  });
  afterAll(async () => {
    await t.stop();
    r.server.close();
  });
  const outbox = async () => (await t.dbh.db.selectFrom('webhook_outbox').select(['id', 'dead', 'attempts']).execute()).map((x) => ({ id: Number(x.id), dead: Number(x.dead), attempts: Number(x.attempts) }));

  it('friends, messages, withdraws, edits and group changes reach the receiver signed, once each, in order per conversation; the outbox empties', async () => {
    const from = r.events.length;
    const { a, b } = await makeFriends(t.api);
    const sent: Array<{ id: number; seq: number; conversation_id: number }> = [];
    for (let i = 0; i < 20; i++) sent.push((await post(t.api, '/im/chat/send/user', { to_uid: i % 2 ? a.user.id : b.user.id, type: 0, body: `m${i}` }, { token: i % 2 ? b.token : a.token })).data);
    await post(t.api, '/im/chat/withdraw/user', { message_id: sent[0]!.id }, { token: a.token });
    await post(t.api, '/im/chat/edit/user', { message_id: sent[2]!.id, body: 'm2 edited' }, { token: a.token });
    const group = (await post(t.api, '/im/group/create', { name: 'hooks', join_mode: 'open' }, { token: a.token })).data.group;
    const c = await registerUser(t.api);
    await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: b.token });
    await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: c.token });
    await post(t.api, '/im/group/leave', { group_id: group.id }, { token: c.token });
    await post(t.api, '/im/group/shot', { group_id: group.id, user_id: b.user.id }, { token: a.token });
    await post(t.api, '/im/group/dissolve', { group_id: group.id }, { token: a.token });
    await until(async () => (await outbox()).length === 0 && r.events.length - from >= 30);
    const got = r.events.slice(from);
    // In order within each key (a conversation, a pair of friends, a group); keys interleave freely.
    const ofKey = (prefix: string) => got.filter((e) => e.type.startsWith(prefix)).map((e) => e.type);
    expect(ofKey('friend.')).toEqual(['friend.requested', 'friend.accepted']);
    expect(ofKey('message.')).toEqual([...Array(20).fill('message.sent'), 'message.withdrawn', 'message.edited']);
    expect(ofKey('group.')).toEqual(['group.created', 'group.joined', 'group.joined', 'group.left', 'group.removed', 'group.dissolved']);
    expect(got).toHaveLength(30);
    const messages = got.filter((e) => e.type === 'message.sent');
    expect(messages.map((e) => [e.data.message_id, e.data.seq, e.data.body])).toEqual(sent.map((s, i) => [s.id, s.seq, `m${i}`]));
    expect(messages[1]!.data).toMatchObject({ from_id: b.user.id, to_id: a.user.id, ope: 0, type: 0, conversation_id: sent[0]!.conversation_id });
    expect(got.find((e) => e.type === 'message.withdrawn')!.data).toMatchObject({ message_id: sent[0]!.id, seq: 21, from_id: a.user.id });
    expect(got.find((e) => e.type === 'message.edited')!.data).toMatchObject({ message_id: sent[2]!.id, seq: 22, body: 'm2 edited' });
    expect(got.filter((e) => e.type === 'group.joined').map((e) => e.data)).toEqual([
      { group_id: group.id, user_id: b.user.id, by: b.user.id, how: 'open' }, { group_id: group.id, user_id: c.user.id, by: c.user.id, how: 'open' },
    ]);
    expect(new Set(got.map((e) => e.id)).size).toBe(got.length);
    expect(r.stats().unsigned).toBe(0);
  });

  it('a user\'s first socket is user.online, the last one closing user.offline', async () => {
    const u = await registerUser(t.api);
    const s = await signedInSocket(t.url, u.token);
    await until(() => r.events.some((e) => e.type === 'user.online' && e.data.user_id === u.user.id));
    s.close();
    await until(() => r.events.some((e) => e.type === 'user.offline' && e.data.user_id === u.user.id));
    expect(r.events.filter((e) => e.data.user_id === u.user.id && e.type.startsWith('user.')).map((e) => e.type)).toEqual(['user.online', 'user.offline']);
  });

  it('a receiver that fails for a while gets every event afterwards, in order, nothing lost or dead', async () => {
    const { a, b } = await makeFriends(t.api);
    const from = r.events.length;
    r.setMode('fail');
    const ids: number[] = [];
    for (let i = 0; i < 30; i++) ids.push((await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: `down ${i}` }, { token: a.token })).data.id);
    await until(async () => (await outbox()).some((x) => x.attempts >= 3));
    expect((await outbox()).filter((x) => x.dead === 1)).toEqual([]);
    r.setMode('ok');
    await until(async () => (await outbox()).length === 0);
    const got = r.events.slice(from).filter((e) => e.type === 'message.sent');
    expect(got.map((e) => e.data.message_id)).toEqual(ids);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/weim_webhook_events_total\{outcome="failed"\} [1-9]/);
  });
});

describe.each(testDialects())('webhook dead letters on %s', (dialect) => {
  it('an event that fails webhooks.max_attempts times is dead: kept, counted, not retried; its key goes on', async () => {
    const r = receiver();
    await r.listen();
    r.setMode('fail');
    const t = await startTestNode(dialect, { ...fast, WEIM_WEBHOOKS_URL: r.url(), WEIM_WEBHOOKS_MAX_ATTEMPTS: '2', WEIM_WEBHOOKS_EVENTS: 'message.sent' });
    try {
      const { a, b } = await makeFriends(t.api);
      await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'doomed' }, { token: a.token });
      await until(async () => Number((await t.dbh.db.selectFrom('webhook_outbox').select('dead').executeTakeFirst())?.dead ?? 0) === 1);
      const posts = r.stats().posts;
      r.setMode('ok');
      await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'after' }, { token: a.token });
      await until(async () => r.events.length === 1 && (await t.dbh.db.selectFrom('webhook_outbox').select('id').where('dead', '=', 0).execute()).length === 0);
      expect(r.events.map((e) => [e.type, e.data.body])).toEqual([['message.sent', 'after']]);
      expect(r.stats().posts).toBe(posts + 1);
      // Only message.sent was subscribed: the friendship made no rows.
      expect((await t.dbh.db.selectFrom('webhook_outbox').select(['event', 'dead']).execute()).map((x) => [x.event, Number(x.dead)])).toEqual([['message.sent', 1]]);
      expect(await (await fetch(`${t.url}/metrics`)).text()).toMatch(/weim_webhook_events_total\{outcome="dead"\} 1/);
      // Kept for webhooks.dead_retention_days: a dispatcher with 0 days deletes it at its first check.
      const { WebhookDispatcher } = await import('../src/modules/webhooks/index.js');
      const pruner = new WebhookDispatcher(t.dbh.db, { endpoint: 'default', url: r.url(), secret: SECRET, intervalMs: 50, batchSize: 10, timeoutMs: 1000, maxAttempts: 2, maxBackoffMs: 100, claimMs: 2000, deadRetentionMs: 0 }, undefined, undefined, () => Date.now() + 1);
      await pruner.runOnce();
      expect(await t.dbh.db.selectFrom('webhook_outbox').select('id').where('dead', '=', 1).execute()).toEqual([]);
    } finally {
      await t.stop();
      r.server.close();
    }
  });
});

describe.each(testDialects())('a webhook event the receiver keeps refusing on %s', (dialect) => {
  it('holds back only its own conversation: other keys flow, its later events wait, it dies after max_attempts and they follow', async () => {
    const r = receiver();
    await r.listen();
    const t = await startTestNode(dialect, { ...fast, WEIM_WEBHOOKS_URL: r.url(), WEIM_WEBHOOKS_MAX_ATTEMPTS: '4', WEIM_WEBHOOKS_MAX_BACKOFF_MS: '200', WEIM_WEBHOOKS_EVENTS: 'message.sent' });
    try {
      const bad = await makeFriends(t.api);
      const good = await makeFriends(t.api);
      await post(t.api, '/im/chat/send/user', { to_uid: bad.b.user.id, type: 0, body: 'poison' }, { token: bad.a.token });
      await post(t.api, '/im/chat/send/user', { to_uid: bad.b.user.id, type: 0, body: 'after the poison' }, { token: bad.a.token });
      for (let i = 0; i < 5; i++) await post(t.api, '/im/chat/send/user', { to_uid: good.b.user.id, type: 0, body: `fine ${i}` }, { token: good.a.token });
      await until(() => r.events.filter((e) => String(e.data.body).startsWith('fine')).length === 5).catch(async (err) => {
        console.error(JSON.stringify(r.events.map((e) => e.data.body)), r.stats(), JSON.stringify(await t.dbh.db.selectFrom('webhook_outbox').selectAll().execute()));
        throw err;
      });
      expect(r.events.some((e) => e.data.body === 'after the poison')).toBe(false);
      // The receiver sees the event before the dispatcher has its answer and deletes the row.
      await until(async () => r.events.some((e) => e.data.body === 'after the poison') && (await t.dbh.db.selectFrom('webhook_outbox').select('id').where('dead', '=', 0).execute()).length === 0);
      const dead = await t.dbh.db.selectFrom('webhook_outbox').select(['payload', 'dead', 'attempts']).execute();
      expect(dead.map((d) => [JSON.parse(d.payload).body, Number(d.dead), Number(d.attempts)])).toEqual([['poison', 1, 4]]);
      expect(r.events.map((e) => e.data.body)).toEqual(['fine 0', 'fine 1', 'fine 2', 'fine 3', 'fine 4', 'after the poison']);
    } finally {
      await t.stop();
      r.server.close();
    }
  });
});

describe.runIf(testDialects().includes('mysql'))('webhooks when a node dies (mysql)', () => {
  const hang = receiver();
  const good = receiver();
  let base: TestNode;
  let n1: ChildNode | undefined;
  let n2: TestNode | undefined;
  beforeAll(async () => {
    await hang.listen();
    await good.listen();
    hang.setMode('hang');
    base = await startTestNode('mysql');
  });
  afterAll(async () => {
    await n1?.kill();
    await n2?.stop();
    await base.stop();
    hang.release();
    hang.server.close();
    good.server.close();
  });

  it('events a SIGKILLed node had claimed are delivered by another node once its claim lapses', async () => {
    n1 = await startChildNode({ ...fast, WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: base.dbh.location, WEIM_WEBHOOKS_URL: hang.url(), WEIM_WEBHOOKS_CLAIM_MS: '2500', WEIM_WEBHOOKS_TIMEOUT_MS: '2000', WEIM_LOG_LEVEL: 'silent' });
    const { a, b } = await makeFriends(n1.api);
    for (let i = 0; i < 5; i++) await post(n1.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: `k${i}` }, { token: a.token });
    const rows = () => base.dbh.db.selectFrom('webhook_outbox').select(['id', 'claimed_until']).orderBy('id').execute();
    // n1 holds the first of them, its POST hanging.
    await until(async () => hang.stats().posts > 0 && (await rows()).length === 7);
    expect((await rows()).some((x) => Number(x.claimed_until) > Date.now())).toBe(true);
    const ids = (await rows()).map((x) => `wh_${x.id}`);
    await n1.kill();
    n1 = undefined;
    n2 = await startTestNode('mysql', { ...fast, WEIM_WEBHOOKS_URL: good.url(), WEIM_WEBHOOKS_CLAIM_MS: '2500' }, { database: base.dbh });
    await until(async () => (await rows()).length === 0, 15_000);
    // Every event once; in order within its key (the pair's two, the conversation's five).
    expect(good.events.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(good.events.filter((e) => e.type.startsWith('friend.')).map((e) => e.type)).toEqual(['friend.requested', 'friend.accepted']);
    expect(good.events.filter((e) => e.type === 'message.sent').map((e) => e.data.body)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
  });
});

describe.each(testDialects())('several webhook receivers on %s', (dialect) => {
  const all = receiver();
  const OTHER_SECRET = 'another-receivers-secret-of-32-chars+';
  const sentOnly = receiver(OTHER_SECRET);
  let t: TestNode;
  beforeAll(async () => {
    await all.listen();
    await sentOnly.listen();
    t = await startTestNode(dialect, {
      ...fast,
      WEIM_WEBHOOKS_URL: all.url(),
      WEIM_WEBHOOKS_ENDPOINTS: JSON.stringify([{ name: 'archive', url: sentOnly.url(), secret: OTHER_SECRET, events: 'message.sent,message.withdrawn' }]),
    });
  });
  afterAll(async () => {
    await t.stop();
    all.server.close();
    sentOnly.server.close();
  });

  it('each gets its own events with its own signature; one that is down holds back nobody else and later gets everything in order', async () => {
    sentOnly.setMode('fail');
    const { a, b } = await makeFriends(t.api);
    const ids: number[] = [];
    for (let i = 0; i < 10; i++) ids.push((await post(t.api, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: `both ${i}` }, { token: a.token })).data.id);
    await post(t.api, '/im/chat/withdraw/user', { message_id: ids[0] }, { token: a.token });
    const endpointRows = (endpoint: string) => t.dbh.db.selectFrom('webhook_outbox').select(['id', 'event']).where('endpoint', '=', endpoint).orderBy('id').execute();
    // The default receiver has everything while the other is still refusing.
    await until(async () => (await endpointRows('default')).length === 0 && all.events.filter((e) => e.type.startsWith('message.')).length === 11);
    expect(all.events.map((e) => e.type)).toEqual(['friend.requested', 'friend.accepted', ...Array(10).fill('message.sent'), 'message.withdrawn']);
    expect(sentOnly.events).toEqual([]);
    expect((await endpointRows('archive')).map((x) => x.event)).toEqual([...Array(10).fill('message.sent'), 'message.withdrawn']);
    sentOnly.setMode('ok');
    await until(async () => (await endpointRows('archive')).length === 0);
    expect(sentOnly.events.map((e) => e.type)).toEqual([...Array(10).fill('message.sent'), 'message.withdrawn']);
    expect(sentOnly.events.filter((e) => e.type === 'message.sent').map((e) => e.data.message_id)).toEqual(ids);
    // Each receiver's deliveries are its own (ids differ), each signed with its own secret.
    expect(new Set([...all.events, ...sentOnly.events].map((e) => e.id)).size).toBe(all.events.length + sentOnly.events.length);
    expect([all.stats().unsigned, sentOnly.stats().unsigned]).toEqual([0, 0]);
    expect(sentOnly.stats().posts).toBeGreaterThan(1);
  });
});
