import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Connection } from '../src/gateway/connection.js';
import { LiveFrame } from '../src/gateway/wire-frame.js';
import { runSync } from '../src/gateway/sync-runner.js';
import { StreamRepair } from '../src/gateway/stream-repair.js';
import { pino } from 'pino';
import type { SyncPage, SyncService } from '../src/modules/sync/index.js';
import { startWsServer } from './helpers/ws-server.js';

/**
 * A socket during a sync, over a real WebSocket: live frames are held and sent afterwards unless
 * the socket has them. Seen in the chaos run (a frame and its own ack, twice in CI): a device that
 * signed in with Sync sends a message at once; a repair started by another node's stop reads the
 * stored message before the send's ack is written and hands its frame to the held list ahead of
 * the ack's silent position.
 */
describe('Connection: the device\'s own message is not sent back when a sync ends', () => {
  let server: Awaited<ReturnType<typeof startWsServer>>;
  let url: string;
  const accepted: Connection[] = [];
  beforeAll(async () => {
    server = await startWsServer((ws, socket) => accepted.push(new Connection(ws, socket, 1 << 20)));
    url = server.url;
  });
  afterAll(() => server.close());

  it('a stored frame held during the sync before the ack\'s silent position is dropped, the rest sent in order', async () => {
    const client = new WebSocket(url);
    const got: number[] = [];
    client.on('message', (d) => got.push(JSON.parse(String(d)).Seq as number));
    await new Promise((r) => client.once('open', r));
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const connection = accepted[0]!;
    const frame = (seq: number) => new LiveFrame(JSON.stringify({ Cmd: 10, Seq: seq }), { key: 'c1', seq });

    connection.beginSync();
    // The repair's frames (it read the device's own message 7, committed, before its ack).
    connection.deliver(frame(6));
    connection.deliver(frame(7));
    // The send's ack: its position, silent.
    connection.skip({ key: 'c1', seq: 7 });
    connection.deliver(frame(8));
    // The sync read up to 5.
    connection.synced('c1', 5);
    connection.endSync();
    connection.sendFrame({ Cmd: 10, Seq: 99 } as never);
    await expect.poll(() => got.at(-1)).toBe(99);
    expect(got).toEqual([6, 8, 99]);
    client.terminate();
  });
});

/** A client socket and the server's Connection for it; `got` lists what arrives as `Cmd:Seq`. */
async function signedInPair(server: Awaited<ReturnType<typeof startWsServer>>, accepted: Connection[]) {
  const client = new WebSocket(server.url);
  const got: string[] = [];
  client.on('message', (d) => {
    const f = JSON.parse(String(d)) as { Cmd: number; Seq?: number };
    got.push(`${f.Cmd}:${f.Seq ?? ''}`);
  });
  await new Promise((r) => client.once('open', r));
  while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
  const connection = accepted[0]!;
  connection.userId = 1;
  return { client, got, connection };
}

/**
 * A send of `seq` in conversation 1 whose message is stored and whose ack is on its way back (the
 * writer thread's answer): queued on the socket as the gateway queues sends; the ack comes 20 ms
 * after `pageRead()` is called, so after the page that read the message.
 */
function sendInFlight(connection: Connection, seq: number): { pageRead: () => void } {
  let ackArrives!: () => void;
  const stored = new Promise<void>((r) => (ackArrives = r));
  connection.serial = connection.serial.then(async () => {
    await stored;
    connection.skip({ key: 'c1', seq });
    connection.sendFrame({ Cmd: 18, Seq: seq } as never);
  });
  return { pageRead: () => setTimeout(ackArrives, 20) };
}

/**
 * The other way a device got its own message twice (the chaos run, once in CI): it sends a message
 * during its sign-in sync; the message commits, the sync's page reads it, and the page is sent
 * before the send's ack comes back from the writer and records its position. The sync waits for
 * the sends queued when its page was read. The page read here is a stand-in for SyncService (its
 * reads are tested against both databases elsewhere): it returns what a read after the commit
 * returns, while the send's ack is still pending, which no timing of real services makes certain.
 */
describe('runSync: a message the device sends during its sync comes back once, as its ack', () => {
  let server: Awaited<ReturnType<typeof startWsServer>>;
  const accepted: Connection[] = [];
  beforeAll(async () => {
    server = await startWsServer((ws, socket) => accepted.push(new Connection(ws, socket, 1 << 20)));
  });
  afterAll(() => server.close());

  it('the page\'s copy of the own message is left out: the ack (not held by a sync), the page\'s other frame, SyncDone', async () => {
    const { client, got, connection } = await signedInPair(server, accepted);
    const send = sendInFlight(connection, 7);
    const page: SyncPage = {
      items: [6, 7].map((seq) => ({ frame: { Cmd: 10, Seq: seq } as never, stream: { key: 'c1', seq } })),
      next: { conversations: new Map([[1, 7]]), events: 0 },
      start: new Map([[1, 5]]),
      more: false,
    } as SyncPage;
    const sync = {
      page: async () => {
        send.pageRead();
        return page;
      },
    } as unknown as SyncService;

    await runSync(connection, sync, { conversations: new Map([[1, 5]]), events: 0 });
    await expect.poll(() => got.length).toBe(3);
    expect(got).toEqual(['18:7', '10:6', '23:']);
    client.terminate();
  });
});

/**
 * The same race in a repair (a gap's, or the one after another node died): the device's own message
 * commits, a frame after it arrives early, the repair reads the gap (the own message) before the
 * send's ack has moved the stream past it. The repair waits for the sends queued when it read.
 */
describe('StreamRepair: a message the device is sending is not repaired to it', () => {
  let server: Awaited<ReturnType<typeof startWsServer>>;
  const accepted: Connection[] = [];
  beforeAll(async () => {
    server = await startWsServer((ws, socket) => accepted.push(new Connection(ws, socket, 1 << 20)));
  });
  afterAll(() => server.close());

  it('the gap\'s own message comes once, as its ack; the early frame after it is let through', async () => {
    const { client, got, connection } = await signedInPair(server, accepted);
    connection.synced('c1', 5);
    const frame = (seq: number) => ({ frame: { Cmd: 10, Seq: seq } as never, stream: { key: 'c1', seq } });
    // Seq 7 (the friend's) came early: 6, the device's own, is committed but not yet acked.
    connection.deliver(new LiveFrame(JSON.stringify(frame(7).frame), frame(7).stream));

    const send = sendInFlight(connection, 6);
    const sync = {
      page: async () => {
        send.pageRead();
        return { items: [frame(6), frame(7)], next: { conversations: new Map([[1, 7]]), events: 0 }, start: new Map([[1, 5]]), more: false } as SyncPage;
      },
    } as unknown as SyncService;

    expect(await new StreamRepair(sync, 200, pino({ level: 'silent' })).repair(connection, ['c1'])).toBe(true);
    connection.sendFrame({ Cmd: 99 } as never);
    await expect.poll(() => got.at(-1)).toBe('99:');
    // The ack's position lets the early 7 through, then the ack itself goes.
    expect(got).toEqual(['10:7', '18:6', '99:']);
    client.terminate();
  });
});

/** A sync page goes to the socket in writes of up to 64 KB, not one write (one system call) per frame. */
describe('Connection.sendAll', () => {
  let server: Awaited<ReturnType<typeof startWsServer>>;
  const accepted: Array<{ connection: Connection; writes: number[] }> = [];
  beforeAll(async () => {
    server = await startWsServer((ws, socket) => {
      const writes: number[] = [];
      const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
      (socket as unknown as { write: (chunk: Buffer) => boolean }).write = (chunk: Buffer) => {
        writes.push(chunk.length);
        return write(chunk);
      };
      accepted.push({ connection: new Connection(ws, socket, 4 << 20), writes });
    });
  });
  afterAll(() => server.close());

  it('200 frames of about 1 KB arrive whole and in order, in 4 writes', async () => {
    const client = new WebSocket(server.url);
    const got: number[] = [];
    client.on('message', (d) => got.push(JSON.parse(String(d)).Seq as number));
    await new Promise((r) => client.once('open', r));
    while (accepted.length === 0) await new Promise((r) => setTimeout(r, 5));
    const { connection, writes } = accepted[0]!;
    const payloads = Array.from({ length: 200 }, (_, i) => JSON.stringify({ Cmd: 6, Seq: i + 1, Body: 'x'.repeat(1000) }));
    expect(await connection.sendAll(payloads)).toBe(true);
    await expect.poll(() => got.length).toBe(200);
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    // About 206 KB: three writes that each just pass 64 KB, and the rest.
    const total = payloads.reduce((sum, p) => sum + 4 + Buffer.byteLength(p), 0);
    expect(writes).toHaveLength(4);
    expect(writes.reduce((a, b) => a + b, 0)).toBe(total);
    for (const bytes of writes.slice(0, 3)) expect(bytes).toBeGreaterThanOrEqual(64 * 1024);
    for (const bytes of writes.slice(0, 3)) expect(bytes).toBeLessThan(64 * 1024 + 1100);
    expect(await connection.sendAll([])).toBe(true);
    expect(writes).toHaveLength(4);
    client.terminate();
  });
});
