import { LoadClient } from './load-client.js';
import { type LoadRequest, serveLoadRequests } from './load-ipc.js';

/**
 * One load process of `bench/workers.ts` (forked, IPC with structured clone): a LoadClient on its
 * own event loop holding its share of the sockets (one process can hold at most ~19,800: 20,000
 * open files). Each request `{id, op, ...}` gets one reply `{id, ...}`:
 *
 * - `open {url, tokens, concurrency, timeoutMs}` → the OpenResult (socket i signs in with tokens[i])
 * - `watch {cmd, indexes, timeoutMs}` → `{}` once watching; `collect` → `{arrivals}` (epoch ms, -1 missed)
 * - `send {index, text}` → `{at}` (epoch ms)
 * - `direct {pairs, userIds, rate, seconds, quiet}` → the DirectResult (pairs index this process's sockets)
 * - `cpu` → `{seconds}` this process's CPU so far; `close` → `{}`, then it exits
 */
const label = `[load ${process.env.WEIM_LOAD_INDEX ?? '?'}]`;
let muted = false;
const client = new LoadClient((line) => {
  if (!muted) process.stdout.write(`${label}${line}\n`);
});
let watching: Promise<Float64Array> | undefined;

type Request = LoadRequest;

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'open':
      return client.openAll(request.url as string, request.tokens as string[], request.concurrency as number, request.timeoutMs as number);
    case 'watch':
      watching = client.watch(request.cmd as number, request.indexes as number[], request.timeoutMs as number);
      return {};
    case 'collect': {
      const arrivals = await (watching ?? Promise.resolve(new Float64Array()));
      watching = undefined;
      return { arrivals };
    }
    case 'send':
      return { at: client.send(request.index as number, request.text as string) };
    case 'direct': {
      muted = request.quiet === true;
      try {
        return await client.direct(request.pairs as Array<[number, number]>, request.userIds as number[], request.rate as number, request.seconds as number);
      } finally {
        muted = false;
      }
    }
    case 'cpu': {
      const usage = process.cpuUsage();
      return { seconds: (usage.user + usage.system) / 1e6 };
    }
    case 'close':
      await client.closeAll();
      return {};
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

serveLoadRequests(handle);
