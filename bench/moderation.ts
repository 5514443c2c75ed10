import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WordFilter } from '../src/modules/moderation/index.js';
import { freePort } from '../test/setup/processes.js';
import { percentile } from './database.js';
import { benchNodeEnv, startTarget } from './targets.js';

/**
 * Moderation costs (issue 21), two parts:
 *
 * 1. The word filter: a list of `--words` (20,000) words, `screen()` over chat-sized texts, clean
 *    and with a hit (mask mode), µs a message, in this process.
 * 2. The before-send hook: a weim node (SQLite, its own process) with and without a hook whose
 *    receiver (in this process) answers after 1 ms; 1:1 sends over HTTP one after another, in
 *    alternating rounds; the latency each adds at p50 / p95 / p99.
 *
 *   npx tsx bench/moderation.ts [--words 20000] [--sends 1000] [--rounds 3]
 */
const { values: args } = parseArgs({
  options: { words: { type: 'string', default: '20000' }, sends: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '3' } },
  strict: true,
});
const wordCount = Math.max(1, Math.min(1_000_000, Number(args.words)));
const sends = Math.max(10, Math.min(100_000, Number(args.sends)));
const rounds = Math.max(1, Math.min(20, Number(args.rounds)));
const log = (line: string) => process.stdout.write(`${line}\n`);

function filterPart(dir: string): void {
  const file = join(dir, 'words.txt');
  const alphabet = 'abcdefghijklmnopqrstuvwxyz的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年';
  const words = new Set<string>();
  while (words.size < wordCount) {
    const length = 3 + (words.size % 6);
    words.add(Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join(''));
  }
  writeFileSync(file, [...words, 'forbiddenword'].join('\n'));
  let started = performance.now();
  const filter = new WordFilter(file, 'mask');
  log(`filter: ${filter.size} words loaded in ${(performance.now() - started).toFixed(0)} ms`);
  const clean = 'See you at the station at eight tomorrow, bring the tickets and a jacket, it will be cold out there!';
  const hit = 'See you at the station at eight tomorrow, bring the forbiddenword tickets and a jacket, it is cold!';
  for (const [label, text] of [['clean 100-character text', clean], ['text with one word (masked)', hit]] as const) {
    const n = 200_000;
    for (let i = 0; i < 10_000; i++) filter.screen('body', text);
    started = performance.now();
    for (let i = 0; i < n; i++) filter.screen('body', text);
    log(`filter: ${label}: ${(((performance.now() - started) * 1000) / n).toFixed(2)} µs a message`);
  }
}

async function hookPart(dir: string): Promise<void> {
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{"action":"allow"}'), 1));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/check`;
  const secret = randomBytes(24).toString('hex');
  const latencies: Record<'without' | 'with', number[]> = { without: [], with: [] };
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const mode of ['without', 'with'] as const) {
        const port = await freePort();
        const dataDir = mkdtempSync(join(dir, `node-${round}-${mode}-`));
        const hook: Record<string, string> = mode === 'with' ? { WEIM_HOOKS_BEFORE_SEND_URL: hookUrl, WEIM_HOOKS_SECRET: 'x'.repeat(32) } : {};
        const target = await startTarget('weim', 'src/main.ts', port, { ...benchNodeEnv(secret, 2), WEIM_DATA_DIR: dataDir, ...hook });
        try {
          const api = `http://127.0.0.1:${port}/api/v1`;
          const call = async (path: string, body: Record<string, unknown>, token?: string) => {
            const res = await fetch(`${api}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { 'Login-Token': token } : {}) }, body: JSON.stringify(body) });
            const answer = (await res.json()) as { code: number; msg: string; data: any };
            if (answer.code !== 0) throw new Error(`${path}: ${answer.code} ${answer.msg}`);
            return answer.data;
          };
          const a = await call('/register', { username: `a${round}${mode}`, password: 'secret123' });
          const b = await call('/register', { username: `b${round}${mode}`, password: 'secret123' });
          await call('/im/friend/add/request', { f_uid: b.user.id }, a.t);
          await call('/im/friend/add/handle', { f_uid: a.user.id, status: 1 }, b.t);
          for (let i = 0; i < 100; i++) await call('/im/chat/send/user', { to_uid: b.user.id, type: 0, body: `warm ${i}` }, a.t);
          const mine: number[] = [];
          for (let i = 0; i < sends; i++) {
            const started = performance.now();
            await call('/im/chat/send/user', { to_uid: b.user.id, type: 0, body: `message ${i}` }, a.t);
            mine.push(performance.now() - started);
          }
          latencies[mode].push(...mine);
          const sorted = mine.sort((x, y) => x - y);
          log(`hook: round ${round} ${mode} hook: p50 ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms (${sends} sends)`);
        } finally {
          await target.stop();
        }
      }
    }
  } finally {
    receiver.close();
  }
  const without = latencies.without.sort((x, y) => x - y);
  const withHook = latencies.with.sort((x, y) => x - y);
  for (const p of [50, 95, 99]) {
    log(`hook: all rounds p${p}: ${percentile(without, p).toFixed(2)} ms without, ${percentile(withHook, p).toFixed(2)} ms with: +${(percentile(withHook, p) - percentile(without, p)).toFixed(2)} ms`);
  }
}

async function main(): Promise<void> {
  log(`moderation bench: ${wordCount} words, ${sends} sends × ${rounds} rounds; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);
  const dir = mkdtempSync(join(tmpdir(), 'weim-moderation-bench-'));
  try {
    filterPart(dir);
    await hookPart(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
