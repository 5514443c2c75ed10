import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.js';
import { ConversationKind, friendConversationKey } from '../src/modules/conversations/index.js';
import { type MessageStore, MessageWriter, ThreadedMessageWriter } from '../src/modules/messages/index.js';
import { BatchDelay } from '../src/modules/messages/batch-delay.js';
import type { PendingMessage } from '../src/modules/messages/message-writer.js';
import { insertFriendship } from '../src/modules/friends/friends.repo.js';
import { mysqlUrlFor, openTestDatabase, testDialects } from './helpers/database.js';

describe('batch delay (group commit)', () => {
  it('a write after a pause goes at the end of its turn; writes close together wait for the delay; a full batch goes at once', async () => {
    let now = 0;
    let runs = 0;
    const delay = new BatchDelay(50, () => runs++, () => now);
    delay.arrived(true, 1, 10);
    expect(delay.pending).toBe(true);
    await nextTurn();
    expect(runs).toBe(1);
    // 10 ms later: close to the last one, so it waits for the writes that follow.
    now = 10;
    delay.arrived(true, 1, 10);
    await nextTurn();
    await nextTurn();
    expect(runs).toBe(1);
    now = 15;
    delay.arrived(true, 2, 10);
    expect(delay.pending).toBe(true);
    await new Promise((r) => setTimeout(r, 80));
    expect([runs, delay.pending]).toEqual([2, false]);
    // A pause longer than the delay: the end of the turn again.
    now = 200;
    delay.arrived(true, 1, 10);
    await nextTurn();
    expect(runs).toBe(3);
    // Close together, until the batch is full: it runs at once.
    now = 210;
    delay.arrived(true, 1, 3);
    now = 211;
    delay.arrived(true, 2, 3);
    expect(runs).toBe(3);
    delay.arrived(true, 3, 3);
    expect([runs, delay.pending]).toEqual([4, false]);
    // Writes that something else hands on (a batch is running) are only noted: nothing is scheduled.
    now = 300;
    delay.arrived(false, 1, 10);
    expect(delay.pending).toBe(false);
  });

  it('with 0 ms every batch goes at the end of its turn, however close the writes', async () => {
    let runs = 0;
    const delay = new BatchDelay(0, () => runs++, () => 5);
    for (let i = 0; i < 3; i++) {
      delay.arrived(true, 1, 10);
      await nextTurn();
    }
    expect(runs).toBe(3);
  });
});

function friendMessage(from: number, to: number, body: string): PendingMessage {
  return {
    convKey: friendConversationKey(from, to), kind: ConversationKind.Friend, userLo: Math.min(from, to), userHi: Math.max(from, to), groupId: null,
    senderId: from, toId: to, type: 0, body, clientMsgId: null, replyTo: null, mentions: null,
  };
}

/**
 * One write, answered; then four more, 30 ms apart: the delay (a second) holds them for one batch.
 * Without it each goes at the end of its turn, and is stored before the next comes.
 */
async function closeWrites(writer: MessageStore, dbh: DbHandle, batches: number[]): Promise<void> {
  await insertFriendship(dbh.db, 1, 2, 1);
  await writer.write(friendMessage(1, 2, 'first'));
  await writer.idle();
  const rest: Array<Promise<unknown>> = [];
  for (let i = 0; i < 4; i++) {
    rest.push(writer.write(friendMessage(i % 2 ? 2 : 1, i % 2 ? 1 : 2, `close ${i}`)));
    await new Promise((r) => setTimeout(r, 30));
  }
  const results = (await Promise.all(rest)) as Array<{ seq: number }>;
  expect(results.map((r) => r.seq)).toEqual([2, 3, 4, 5]);
  expect(batches).toEqual([1, 4]);
  const rows = await dbh.db.selectFrom('messages').select(['seq', 'body']).orderBy('seq').execute();
  expect(rows.map((r) => [Number(r.seq), r.body])).toEqual([[1, 'first'], [2, 'close 0'], [3, 'close 1'], [4, 'close 2'], [5, 'close 3']]);
}

describe.each(testDialects())('message writer with a batch delay on %s', (dialect) => {
  const opened: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const close of opened.reverse()) await close();
  });

  it('writes that come close together are stored as one batch, in order', async () => {
    const dbh = await openTestDatabase(dialect);
    opened.push(() => dbh.close());
    const batches: number[] = [];
    const writer = new MessageWriter(dbh.db, { delayMs: 1000, onBatch: (size) => batches.push(size) });
    opened.push(() => writer.close());
    await closeWrites(writer, dbh, batches);
  });
});

describe.runIf(testDialects().includes('mysql'))('message writer on its thread with a batch delay (MariaDB)', () => {
  it('writes that come close together are posted to the thread, and stored, as one batch', async () => {
    const dbh = await openTestDatabase('mysql');
    const { name } = (await sql<{ name: string }>`select database() as name`.execute(dbh.db)).rows[0]!;
    const batches: number[] = [];
    const writer = new ThreadedMessageWriter(mysqlUrlFor(name), { delayMs: 1000, onBatch: (size) => batches.push(size) });
    try {
      await writer.start();
      await closeWrites(writer, dbh, batches);
    } finally {
      await writer.close();
      await dbh.close();
    }
  });
});
