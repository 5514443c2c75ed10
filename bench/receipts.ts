import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateToLatest } from '../src/db/migrate.js';
import { type BenchDialect, openBenchDatabase, percentile } from './database.js';
import { issueTokens, seedDatabase } from './gateway-seed.js';
import { freePort } from '../test/setup/processes.js';
import { Role } from '../src/modules/groups/groups.table.js';
import { benchNodeEnv, startTarget } from './targets.js';

/**
 * Group read receipts (issue 20): one group of N members (default 10,000), one message from its
 * owner, and the read cursors of `--read` of the members at or past it (the rest behind it); then
 * `/im/chat/receipts` for that message over HTTP, one request after another, against a weim node in
 * a process of its own. Prints p50/p95/p99 and the answer (counts only: N is above
 * messages.receipt_list_max), and a second round on a group of 200 (names listed).
 *
 *   npx tsx bench/receipts.ts [--dialect sqlite|mysql] [--members 10000] [--read 0.5] [--requests 300]
 */
const { values: args } = parseArgs({
  options: {
    dialect: { type: 'string', default: 'sqlite' },
    members: { type: 'string', default: '10000' },
    read: { type: 'string', default: '0.5' },
    requests: { type: 'string', default: '300' },
  },
  strict: true,
});
const dialect = (args.dialect === 'mysql' ? 'mysql' : 'sqlite') as BenchDialect;
const members = Math.max(2, Math.min(100_000, Number(args.members)));
const share = Math.max(0, Math.min(1, Number(args.read)));
const requests = Math.max(10, Math.min(100_000, Number(args.requests)));
const log = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  log(`receipts bench: ${dialect}, a group of ${members}, ${Math.round(share * 100)} % read, ${requests} requests; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-receipts-bench-'));
  const bench = await openBenchDatabase(dialect, dataDir, log);
  const secret = randomBytes(24).toString('hex');
  let target: Awaited<ReturnType<typeof startTarget>> | undefined;
  try {
    await migrateToLatest(bench.dbh.db, { info: () => {} });
    const seeded = await seedDatabase(bench.dbh.db, members);
    const tokens = issueTokens(bench.dbh.db, secret, seeded.userIds);
    const port = await freePort();
    target = await startTarget('weim', 'src/main.ts', port, {
      ...benchNodeEnv(secret, members),
      WEIM_DATA_DIR: dataDir,
      ...(dialect === 'mysql' ? { WEIM_DB_DIALECT: 'mysql', WEIM_DB_URL: bench.url } : {}),
    });
    const api = `http://127.0.0.1:${port}/api/v1`;
    const call = async (path: string, body: Record<string, unknown>, token: string) => {
      const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'Login-Token': token }, body: JSON.stringify(body) });
      const answer = (await res.json()) as { code: number; msg: string; data: Record<string, unknown> };
      if (answer.code !== 0) throw new Error(`${path}: ${answer.code} ${answer.msg}`);
      return answer.data;
    };
    for (const [label, groupId, size] of [[`${members} members`, seeded.groupId, members], ['200 members', await smallGroup(seeded.userIds.slice(0, 200)), 200]] as const) {
      const sent = await call('/im/chat/send/group', { group_id: groupId, type: 0, body: 'who read this?' }, tokens[0]!);
      const conversationId = Number(sent.conversation_id);
      const seq = Number(sent.seq);
      const readers = seeded.userIds.slice(1, size).filter((_, i) => i % Math.max(1, Math.round(1 / Math.max(share, 1e-9))) === 0 && share > 0);
      const now = Date.now();
      for (let i = 0; i < readers.length; i += 1000) {
        await bench.dbh.db.insertInto('read_cursors').values(readers.slice(i, i + 1000).map((userId, k) => ({ user_id: userId, conversation_id: conversationId, read_seq: seq + (k % 3), updated_at: now }))).execute();
      }
      // Cursors behind the message for others (they read older ones).
      const behind = seeded.userIds.slice(1, size).filter((id) => !readers.includes(id)).slice(0, Math.floor(size / 4));
      for (let i = 0; i < behind.length; i += 1000) {
        await bench.dbh.db.insertInto('read_cursors').values(behind.slice(i, i + 1000).map((userId) => ({ user_id: userId, conversation_id: conversationId, read_seq: seq - 1, updated_at: now }))).execute();
      }
      const times: number[] = [];
      let answer: Record<string, unknown> = {};
      for (let i = 0; i < requests; i++) {
        const started = performance.now();
        answer = await call('/im/chat/receipts', { message_id: sent.id }, tokens[0]!);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const shown = { ...answer, readers: Array.isArray(answer.readers) ? `${answer.readers.length} named` : undefined };
      log(`${label}: p50 ${percentile(times, 50).toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms, p99 ${percentile(times, 99).toFixed(2)} ms; answer ${JSON.stringify(shown)}`);
    }
  } finally {
    await target?.stop();
    await bench.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  async function smallGroup(userIds: number[]): Promise<number> {
    const now = Date.now();
    const group = await bench.dbh.db.insertInto('groups').values({ name: 'small', owner_id: userIds[0]!, member_count: userIds.length, created_at: now, updated_at: now }).executeTakeFirstOrThrow();
    const groupId = Number(group.insertId);
    await bench.dbh.db.insertInto('group_members').values(userIds.map((userId, k) => ({ group_id: groupId, user_id: userId, role: k === 0 ? Role.Owner : Role.Member, joined_at: now }))).execute();
    return groupId;
  }
}

main().catch((err: unknown) => {
  console.error('receipts bench failed:', err);
  process.exit(1);
});
