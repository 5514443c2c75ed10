/**
 * Sync benchmark (not a test). Loopback only, bounded in count and time.
 *
 *   npx tsx bench/sync.ts [--dialect sqlite|mysql] [--sockets 10000] [--reps 50] [--only one|storm]
 *
 * 1. Server time of one sync: a user with 50 conversations (40 friends, 10 groups of 300 members)
 *    and 20,000 older messages, then 1,000 missed messages spread over the 50 conversations.
 *    (a) `SyncService.page()` in process over all pages, (b) end to end over a socket (sign-in
 *    with Sync → SyncDone, node in this process), p50/p95 over `--reps`. The same again for a second
 *    user whose conversations hold 10× the history (200,000) and the same 1,000 missed.
 * 2. Reconnect storm: `--sockets` users, each in 1–3 conversations (a friend, 0–2 groups of 10)
 *    with 3–4 missed messages each, against the server in a child process (`src/main.ts`). All
 *    sockets connect at once (at most 500 in flight, source addresses 127.0.0.2–9), each signs in
 *    with its cursors; measured until every socket has its SyncDone, and every socket's messages
 *    are checked against what it missed.
 *
 * Everything is seeded straight into the database. MariaDB: WEIM_DB_URL, else a private mariadbd.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Insertable } from 'kysely';
import { pino } from 'pino';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { TokenService } from '../src/modules/auth/index.js';
import { ConversationKind, friendConversationKey, groupConversationKey } from '../src/modules/conversations/index.js';
import type { MessagesTable } from '../src/modules/messages/index.js';
import { SyncService } from '../src/modules/sync/index.js';
import { fromRecord } from '../src/modules/sync/cursors.js';
import type { DbHandle } from '../src/db/connect.js';
import { createNode } from '../src/node.js';
import { startChildNode } from '../test/helpers/child-node.js';
import { openBenchDatabase, percentile } from './database.js';
import { random, seedUsers } from './seed.js';

const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    sockets: { type: 'string', default: '10000' },
    reps: { type: 'string', default: '50' },
    only: { type: 'string' },
  },
});
const dialect = args.dialect === 'mysql' ? 'mysql' : 'sqlite';
/** One client process holds the sockets: keep well under its 20k open files. */
const socketCount = Math.min(18_000, Math.max(2, Math.ceil(Number(args.sockets) / 2) * 2));
const reps = Math.min(500, Math.max(5, Number(args.reps)));
const log = (msg: string) => console.log(`[sync ${dialect}] ${msg}`);
const secret = 'weim-bench-sync-secret';

// Part 1: the user with 50 conversations.
const FRIENDS = 40;
const GROUPS = 10;
const GROUP_SIZE = 300;
const HISTORY = 20_000;
const MISSED = 1_000;
/** Users 1..PART1_USERS belong to part 1; the storm's users come after. */
const PART1_USERS = 3200;
const STORM_INFLIGHT = 500;
const STORM_DEADLINE_MS = 240_000;

interface ConversationSpec {
  key: string;
  kind: number;
  userLo: number | null;
  userHi: number | null;
  groupId: number | null;
  /** Who may have sent its messages (a friend pair, or a group's members). */
  members: number[];
  history: number;
  missed: number;
}

const ms = (t: number) => t.toFixed(1);
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return `p50 ${ms(percentile(sorted, 50))} ms, p95 ${ms(percentile(sorted, 95))} ms, max ${ms(sorted.at(-1)!)} ms (n=${sorted.length})`;
};

async function inBatches<T>(rows: T[], size: number, insert: (batch: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += size) await insert(rows.slice(i, i + size));
}

/** Inserts groups with their members (joined at seq 0); returns their ids in order. */
async function seedGroups(db: Db, groups: Array<{ name: string; members: number[] }>, now: number): Promise<number[]> {
  await inBatches(groups, 500, (batch) =>
    db.insertInto('groups').values(batch.map((g) => ({ name: g.name, owner_id: g.members[0]!, member_count: g.members.length, created_at: now, updated_at: now }))).execute(),
  );
  const ids = new Map<string, number>();
  await inBatches(groups, 500, async (batch) => {
    const rows = await db.selectFrom('groups').select(['id', 'name']).where('name', 'in', batch.map((g) => g.name)).execute();
    for (const r of rows) ids.set(r.name, Number(r.id));
  });
  const members = groups.flatMap((g) => g.members.map((userId, i) => ({ group_id: ids.get(g.name)!, user_id: userId, role: i === 0 ? 2 : 0, joined_at: now, joined_seq: 0 })));
  await inBatches(members, 2000, (batch) => db.insertInto('group_members').values(batch).execute());
  return groups.map((g) => ids.get(g.name)!);
}

async function seedFriends(db: Db, pairs: Array<[number, number]>, now: number): Promise<void> {
  const rows = pairs.flatMap(([a, b]) => [{ user_id: a, friend_id: b, created_at: now }, { user_id: b, friend_id: a, created_at: now }]);
  await inBatches(rows, 2000, (batch) => db.insertInto('friends').values(batch).execute());
}

/**
 * Inserts conversations and their messages: `history` older ones, then `missed` newer ones
 * (seqs 1..history+missed). Returns the conversation ids in order.
 */
async function seedConversations(db: Db, specs: ConversationSpec[], rnd: () => number, now: number, progress: (done: number) => void): Promise<number[]> {
  await inBatches(specs, 500, (batch) =>
    db.insertInto('conversations').values(batch.map((c) => ({
      conv_key: c.key, kind: c.kind, user_lo: c.userLo, user_hi: c.userHi, group_id: c.groupId, last_seq: c.history + c.missed, last_message_at: now,
    }))).execute(),
  );
  const ids = new Map<string, number>();
  await inBatches(specs, 500, async (batch) => {
    const rows = await db.selectFrom('conversations').select(['id', 'conv_key']).where('conv_key', 'in', batch.map((c) => c.key)).execute();
    for (const r of rows) ids.set(r.conv_key, Number(r.id));
  });
  let pending: Array<Insertable<MessagesTable>> = [];
  let done = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    await db.insertInto('messages').values(pending).execute();
    done += pending.length;
    pending = [];
    progress(done);
  };
  for (const c of specs) {
    const total = c.history + c.missed;
    for (let seq = 1; seq <= total; seq++) {
      const sender = c.members[Math.floor(rnd() * c.members.length)]!;
      const toId = c.kind === ConversationKind.Group ? c.groupId! : sender === c.userLo ? c.userHi! : c.userLo!;
      pending.push({
        conversation_id: ids.get(c.key)!, seq, sender_id: sender, ope: c.kind, to_id: toId, type: 0,
        body: `message ${seq} of ${c.key}: ${'lorem ipsum dolor sit amet '.slice(0, 10 + Math.floor(rnd() * 18))}`,
        client_msg_id: null, created_at: now - (total - seq) * 1000, withdrawn_at: null, withdraw_seq: null,
      });
      if (pending.length >= 1000) await flush();
    }
  }
  await flush();
  return specs.map((c) => ids.get(c.key)!);
}

/** `total` split over `parts` (each at least 1), at random. */
function spread(total: number, parts: number, rnd: () => number): number[] {
  const out = new Array<number>(parts).fill(1);
  for (let i = parts; i < total; i++) out[Math.floor(rnd() * parts)]! += 1;
  return out;
}

/** Part 1's seed for one user: 40 friend and 10 group conversations; returns the user's cursors. */
async function seedHeavyUser(db: Db, userId: number, history: number, tag: string, rnd: () => number, now: number) {
  const friendIds = Array.from({ length: FRIENDS }, (_, i) => 2 + ((userId * 7 + i) % 150));
  await seedFriends(db, friendIds.map((f) => [userId, f]), now);
  const groupIds = await seedGroups(db, Array.from({ length: GROUPS }, (_, g) => {
    const members = new Set<number>([userId]);
    while (members.size < GROUP_SIZE) members.add(200 + Math.floor(rnd() * (PART1_USERS - 200)));
    return { name: `bench-${tag}-${g}`, members: [...members] };
  }), now);
  const histories = spread(history, FRIENDS + GROUPS, rnd);
  const missed = spread(MISSED, FRIENDS + GROUPS, rnd);
  const specs: ConversationSpec[] = [
    ...friendIds.map((f, i) => ({
      key: friendConversationKey(userId, f), kind: ConversationKind.Friend, userLo: Math.min(userId, f), userHi: Math.max(userId, f), groupId: null,
      members: [userId, f], history: histories[i]!, missed: missed[i]!,
    })),
    ...groupIds.map((g, i) => ({
      key: groupConversationKey(g), kind: ConversationKind.Group, userLo: null, userHi: null, groupId: g,
      members: Array.from({ length: 20 }, () => 200 + Math.floor(rnd() * (PART1_USERS - 200))).concat(userId),
      history: histories[FRIENDS + i]!, missed: missed[FRIENDS + i]!,
    })),
  ];
  const started = performance.now();
  const ids = await seedConversations(db, specs, rnd, now, (done) => {
    if (done % 50_000 === 0) log(`  ${tag}: ${done} messages stored`);
  });
  log(`  ${tag}: ${history + MISSED} messages in 50 conversations seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const cursors: Record<string, number> = {};
  ids.forEach((id, i) => (cursors[String(id)] = specs[i]!.history));
  return cursors;
}

/** What one socket got from a sign-in with Sync. */
interface SyncOutcome {
  ok: boolean;
  error?: string;
  /** Connect → SyncDone, and sign-in sent → SyncDone (ms). */
  totalMs: number;
  syncMs: number;
  more: boolean;
  /** Per conversation: message frames, sum and max of their seqs. */
  got: Map<number, { count: number; sum: number; max: number }>;
}

/** Opens a socket, signs in with a Sync for `cursors`, resolves at SyncDone (socket left open). */
function signInAndSync(wsUrl: string, token: string, cursors: Record<string, number>, localAddress: string | undefined, timeoutMs: number) {
  return new Promise<{ outcome: SyncOutcome; ws: WebSocket }>((resolve) => {
    const started = performance.now();
    let sent = 0;
    const got = new Map<number, { count: number; sum: number; max: number }>();
    const ws = new WebSocket(wsUrl, { perMessageDeflate: false, localAddress });
    let settled = false;
    const finish = (ok: boolean, more: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const now = performance.now();
      resolve({ outcome: { ok, error, more, got, totalMs: now - started, syncMs: sent ? now - sent : 0 }, ws });
    };
    const timer = setTimeout(() => finish(false, false, 'timeout'), timeoutMs);
    ws.on('open', () => {
      sent = performance.now();
      ws.send(JSON.stringify({ Cmd: 3, Body: token, Sync: { Cursors: cursors, EventSeq: 0 } }));
    });
    ws.on('message', (data) => {
      const f = JSON.parse(data.toString()) as { Cmd: number; ConvId?: number; Seq?: number; Body: string; More?: boolean };
      if (f.Cmd === 6 || f.Cmd === 10) {
        const g = got.get(f.ConvId!) ?? { count: 0, sum: 0, max: 0 };
        g.count += 1;
        g.sum += f.Seq!;
        g.max = Math.max(g.max, f.Seq!);
        got.set(f.ConvId!, g);
      } else if (f.Cmd === 23) finish(true, f.More === true);
      else if (f.Cmd === 2) finish(false, false, `Cmd 2: ${f.Body}`);
    });
    ws.on('error', (err) => finish(false, false, err.message));
    ws.on('close', (code) => finish(false, false, `closed ${code}`));
  });
}

/** Whether a socket got exactly seqs (cursor, last] of each conversation, once each. */
function gotExactly(outcome: SyncOutcome, expected: Map<number, { from: number; to: number }>): boolean {
  if (outcome.got.size !== expected.size) return false;
  for (const [id, { from, to }] of expected) {
    const g = outcome.got.get(id);
    const n = to - from;
    if (!g || g.count !== n || g.max !== to || g.sum !== (n * (from + 1 + to)) / 2) return false;
  }
  return true;
}

async function partOne(dbh: DbHandle, dbUrl: string, dataDir: string) {
  const { db } = dbh;
  const rnd = random(11);
  const now = Date.now();
  log(`part 1: seeding user 1 (${HISTORY} older messages) and user 2 (${HISTORY * 10}), each ${MISSED} missed over ${FRIENDS} friends + ${GROUPS} groups of ${GROUP_SIZE}`);
  const users = [
    { id: 1, label: `history ${HISTORY.toLocaleString('en')}`, cursors: await seedHeavyUser(db, 1, HISTORY, 'u1', rnd, now) },
    { id: 2, label: `history ${(HISTORY * 10).toLocaleString('en')}`, cursors: await seedHeavyUser(db, 2, HISTORY * 10, 'u2', rnd, now) },
  ];
  const config = loadConfig({ WEIM_DATA_DIR: dataDir, WEIM_LOG_LEVEL: 'silent', WEIM_DB_DIALECT: dialect, WEIM_DB_URL: dbUrl, WEIM_AUTH_JWT_SECRET: secret }, dataDir);
  const sync = new SyncService(db, config.messages.sync_page_size);
  const node = await createNode(config, pino({ level: 'silent' }), { database: dbh });
  const origin = await node.listen(0, '127.0.0.1');
  const wsUrl = `${origin.replace(/^http/, 'ws')}/ws`;
  const results: string[] = [];
  try {
    for (const user of users) {
      const cursors = fromRecord(user.cursors, 0);
      const pageTimes: number[] = [];
      let pages = 0;
      for (let r = -5; r < reps; r++) {
        const t0 = performance.now();
        let current = cursors;
        let items = 0;
        pages = 0;
        for (;;) {
          const page = await sync.page(user.id, current);
          items += page.items.length;
          pages += 1;
          current = page.next;
          if (!page.more) break;
        }
        if (r >= 0) pageTimes.push(performance.now() - t0);
        if (items !== MISSED) throw new Error(`SyncService.page returned ${items} items, expected ${MISSED}`);
      }
      log(`  user ${user.id} (${user.label}): SyncService.page() × ${pages} page(s): ${stats(pageTimes)}`);

      const expected = new Map(Object.entries(user.cursors).map(([id, from]) => [Number(id), { from, to: 0 }]));
      const lasts = await db.selectFrom('conversations').select(['id', 'last_seq']).where('id', 'in', [...expected.keys()]).execute();
      for (const c of lasts) expected.get(Number(c.id))!.to = Number(c.last_seq);
      const token = node.services.tokens.issue(user.id);
      const socketTimes: number[] = [];
      for (let r = -5; r < reps; r++) {
        const { outcome, ws } = await signInAndSync(wsUrl, token, user.cursors, undefined, 30_000);
        ws.terminate();
        if (!outcome.ok || outcome.more || !gotExactly(outcome, expected)) throw new Error(`socket sync failed: ${outcome.error ?? 'wrong messages'}`);
        if (r >= 0) socketTimes.push(outcome.syncMs);
      }
      log(`  user ${user.id} (${user.label}): socket sign-in+Sync → SyncDone (1,000 frames): ${stats(socketTimes)}`);
      results.push(`| ${dialect} | ${user.label} | ${ms(percentile(pageTimes.sort((a, b) => a - b), 50))} / ${ms(percentile(pageTimes, 95))} | ${ms(percentile(socketTimes.sort((a, b) => a - b), 50))} / ${ms(percentile(socketTimes, 95))} |`);
    }
  } finally {
    await node.stop();
  }
  return results;
}

/** Part 2's seed: each storm user has a friend, and two thirds are in 1–2 groups of 10. */
async function seedStorm(db: Db, first: number, count: number) {
  const rnd = random(23);
  const now = Date.now();
  const uid = (i: number) => first + i;
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i + 1 < count; i += 2) pairs.push([uid(i), uid(i + 1)]);
  await seedFriends(db, pairs, now);
  const layers = [(i: number) => i % 3 !== 0, (i: number) => i % 3 === 2];
  const groups: Array<{ name: string; members: number[] }> = [];
  layers.forEach((inLayer, layer) => {
    const members = Array.from({ length: count }, (_, i) => i).filter(inLayer).map(uid);
    for (let g = 0; g * 10 < members.length; g++) groups.push({ name: `storm-${layer}-${g}`, members: members.slice(g * 10, g * 10 + 10) });
  });
  const groupIds = await seedGroups(db, groups, now);
  const specs: ConversationSpec[] = [
    ...pairs.map(([a, b]) => ({ key: friendConversationKey(a, b), kind: ConversationKind.Friend, userLo: a, userHi: b, groupId: null, members: [a, b], history: 5, missed: 3 })),
    ...groups.map((g, i) => ({ key: groupConversationKey(groupIds[i]!), kind: ConversationKind.Group, userLo: null, userHi: null, groupId: groupIds[i]!, members: g.members, history: 5, missed: 4 })),
  ];
  const started = performance.now();
  const ids = await seedConversations(db, specs, rnd, now, () => {});
  const expected = new Map<number, Map<number, { from: number; to: number }>>();
  specs.forEach((c, i) => {
    for (const member of c.members) {
      const mine = expected.get(member) ?? new Map<number, { from: number; to: number }>();
      mine.set(ids[i]!, { from: c.history, to: c.history + c.missed });
      expected.set(member, mine);
    }
  });
  const missed = specs.reduce((n, c) => n + c.missed * c.members.length, 0);
  log(`  ${specs.length} conversations, ${specs.reduce((n, c) => n + c.history + c.missed, 0)} messages seeded in ${((performance.now() - started) / 1000).toFixed(1)} s; ${missed} missed deliveries in all`);
  return { expected, missed };
}

function timeWait(): number {
  return Number(/tw (\d+)/.exec(readFileSync('/proc/net/sockstat', 'utf8'))?.[1] ?? 0);
}

async function partTwo(db: Db, dataDir: string, dbUrl: string, expected: Map<number, Map<number, { from: number; to: number }>>, missed: number) {
  for (let waited = 0; timeWait() > 2000 && waited < 120; waited += 5) {
    log(`  waiting for TIME_WAIT sockets to clear (${timeWait()})`);
    await new Promise((r) => setTimeout(r, 5000));
  }
  const node = await startChildNode({
    WEIM_DATA_DIR: dataDir, WEIM_DB_DIALECT: dialect, WEIM_DB_URL: dbUrl, WEIM_AUTH_JWT_SECRET: secret, WEIM_LOG_LEVEL: 'warn',
    WEIM_AUTH_LOGIN_MAX_PER_IP: '1000000', WEIM_AUTH_REGISTER_MAX_PER_IP: '1000000', WEIM_MESSAGES_SEND_MAX_PER_10S: '1000000',
    WEIM_GATEWAY_MAX_SOCKETS_PER_IP: '0',
  });
  const wsUrl = `${node.url.replace(/^http/, 'ws')}/ws`;
  const tokens = new TokenService(db, { secret, ttlSeconds: 3600 });
  const users = [...expected.keys()];
  const jobs = users.map((userId) => {
    const cursors: Record<string, number> = {};
    for (const [id, { from }] of expected.get(userId)!) cursors[String(id)] = from;
    return { userId, token: tokens.issue(userId), cursors };
  });
  log(`part 2: ${jobs.length} sockets sign in with Sync at once (≤ ${STORM_INFLIGHT} in flight, 127.0.0.2–9) to weim pid ${node.pid}, RSS ${(node.rss() / 2 ** 20).toFixed(0)} MB`);
  const sockets: WebSocket[] = [];
  const latencies: number[] = [];
  const failures = new Map<string, number>();
  let wrong = 0;
  let frames = 0;
  let next = 0;
  let inFlight = 0;
  let peakRss = 0;
  const started = performance.now();
  const deadline = started + STORM_DEADLINE_MS;
  const progress = setInterval(() => {
    peakRss = Math.max(peakRss, node.rss());
    log(`  ${((performance.now() - started) / 1000).toFixed(1)} s: ${latencies.length} synced, ${inFlight} in flight, ${[...failures.values()].reduce((a, b) => a + b, 0)} failed, server RSS ${(node.rss() / 2 ** 20).toFixed(0)} MB`);
  }, 1000);
  await Promise.all(Array.from({ length: STORM_INFLIGHT }, async () => {
    while (next < jobs.length && performance.now() < deadline) {
      const i = next++;
      const job = jobs[i]!;
      inFlight += 1;
      const { outcome, ws } = await signInAndSync(wsUrl, job.token, job.cursors, `127.0.0.${2 + (i % 8)}`, Math.max(1000, deadline - performance.now()));
      inFlight -= 1;
      sockets.push(ws);
      if (!outcome.ok) failures.set(outcome.error!, (failures.get(outcome.error!) ?? 0) + 1);
      else {
        latencies.push(outcome.totalMs);
        for (const g of outcome.got.values()) frames += g.count;
        if (outcome.more || !gotExactly(outcome, expected.get(job.userId)!)) wrong += 1;
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(progress);
  peakRss = Math.max(peakRss, node.rss());
  const open = sockets.filter((ws) => ws.readyState === WebSocket.OPEN).length;
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  log(`  => ${latencies.length}/${jobs.length} sockets synced in ${seconds.toFixed(2)} s (${(latencies.length / seconds).toFixed(0)} sign-ins+syncs/s); ` +
    `connect→SyncDone ${stats(latencies)}; ${failed} failed${failed ? ` ${JSON.stringify(Object.fromEntries(failures))}` : ''}; ` +
    `${wrong} with wrong messages; ${frames}/${missed} missed messages delivered; ${open} sockets open at the end; server RSS peak ${(peakRss / 2 ** 20).toFixed(0)} MB`);
  for (const ws of sockets) ws.terminate();
  await node.stop();
  const sorted = latencies.sort((a, b) => a - b);
  return `| ${dialect} | ${jobs.length} | ${seconds.toFixed(2)} s | ${(latencies.length / seconds).toFixed(0)} | ${ms(percentile(sorted, 50))} / ${ms(percentile(sorted, 95))} | ${failed} | ${wrong} | ${frames} / ${missed} | ${(peakRss / 2 ** 20).toFixed(0)} MB |`;
}

async function main(): Promise<void> {
  log(`${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-bench-sync-'));
  const bench = await openBenchDatabase(dialect, dataDir, log);
  const rows: string[] = [];
  try {
    const { db } = bench.dbh;
    await migrateToLatest(db, { info: () => {} });
    const started = performance.now();
    await seedUsers(db, PART1_USERS + socketCount, () => {});
    log(`seeded ${PART1_USERS + socketCount} users in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (args.only !== 'storm') rows.push(...(await partOne(bench.dbh, bench.url, dataDir)));
    if (args.only !== 'one') {
      log(`part 2: seeding ${socketCount} storm users`);
      const { expected, missed } = await seedStorm(db, PART1_USERS + 1, socketCount);
      rows.push(await partTwo(db, dataDir, bench.url, expected, missed));
    }
  } finally {
    await bench.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`\n${rows.join('\n')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
