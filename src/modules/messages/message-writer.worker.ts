import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../db/connect.js';
import { AppError } from '../../errors.js';
import { MessageWriter, type PendingMessage } from './message-writer.js';
import type { WriterReply, WriterRequest, WriterThreadData } from './message-writer.thread.js';

/**
 * The message writer's thread (see message-writer.thread.ts): a MessageWriter over connections of
 * its own, answering each chunk of messages posted to it. Results and failures go back in one
 * message per turn of this thread's event loop, with the batches measured in that turn.
 */
const data = workerData as WriterThreadData;
const port = parentPort!;
const dbh = openDatabase({ dialect: 'mysql', location: data.location, poolSize: 2 });
const session = dbh.openManualCommit!();
const spare = dbh.openManualCommit!();

let reply: WriterReply = { results: [], failures: [], batches: [] };
let replyScheduled = false;
function send(fill: (r: WriterReply) => void): void {
  fill(reply);
  if (replyScheduled) return;
  replyScheduled = true;
  setImmediate(() => {
    replyScheduled = false;
    const out = reply;
    reply = { results: [], failures: [], batches: [] };
    port.postMessage(out);
  });
}

const writer = new MessageWriter(dbh.db, {
  session: session.db,
  spareSession: spare.db,
  webhooks: data.webhooks,
  onBatch: (size, seconds) => send((r) => r.batches.push([size, seconds])),
});

port.postMessage({ results: [], failures: [], batches: [], ready: true } satisfies WriterReply);

port.on('message', (request: WriterRequest) => {
  if (request.kind === 'write') {
    for (const [id, message] of request.messages as Array<[number, PendingMessage]>) {
      writer.write(message).then(
        (result) => send((r) => r.results.push([id, result])),
        (err: unknown) => send((r) => r.failures.push([id, describe(err)])),
      );
    }
    return;
  }
  void (async () => {
    await writer.idle();
    await Promise.allSettled([session.close(), spare.close(), dbh.close()]);
    port.postMessage({ results: [], failures: [], batches: [], closed: true } satisfies WriterReply);
  })();
});

/** What the main thread needs of a failure: its message and the database's code (or its reason), nothing else. */
function describe(err: unknown): WriterReply['failures'][number][1] {
  if (err instanceof AppError) return { message: err.message, reason: err.reason, ...(err.params ? { params: err.params } : {}) };
  const e = err as { message?: unknown; code?: unknown } | null;
  return { message: typeof e?.message === 'string' ? e.message : String(err), ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
}
