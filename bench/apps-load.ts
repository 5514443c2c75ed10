import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { type LoadRequest, serveLoadRequests } from './load-ipc.js';

/**
 * One load process of `bench/apps.ts` (forked, IPC with structured clone): a share of the realtime
 * gateway's app connections (`/ws?systemId=<app>`; one process holds at most ~19,800 sockets here).
 * Each request `{id, op, ...}` gets one reply `{id, ...}`:
 *
 * - `open {urls, count, concurrency, timeoutMs}` → `{opened, failed, seconds, clientIds}` (socket k
 *   goes to `urls[k % urls.length]`; clientIds[k] from its greeting, null when it failed)
 * - `stats` → `{presence, offline, other, closed, bytes, cpu}`: 1001 / 1002 / other frames received
 *   so far, sockets closed since they opened, bytes of frames, this process's CPU seconds
 * - `watch {marker, indexes, timeoutMs}` → `{}` once watching for the first frame holding `marker`
 *   on each of `indexes`; `collect` → `{arrivals}` (epoch ms on the machine's clock, -1 missed)
 * - `close` → `{}` (every socket reset), then it exits
 */
const SOURCE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];
const PRESENCE = Buffer.from('"code":1001,');
const OFFLINE = Buffer.from('"code":1002,');
const label = `[apps load ${process.env.WEIM_LOAD_INDEX ?? '?'}]`;
const log = (line: string) => process.stdout.write(`${label} ${line}\n`);

const sockets: WebSocket[] = [];
const counts = { presence: 0, offline: 0, other: 0, closed: 0, bytes: 0 };
/** While a watch is on: the marker, each watched socket's slot, and the arrivals. */
let watching: { marker: Buffer; slot: Map<number, number>; arrivals: Float64Array; count: number; reached: () => void } | undefined;
let watched: Promise<Float64Array> | undefined;

function onFrame(index: number, data: Buffer): void {
  counts.bytes += data.length;
  const w = watching;
  if (w && data.indexOf(w.marker) >= 0) {
    const k = w.slot.get(index);
    if (k !== undefined && w.arrivals[k]! < 0) {
      w.arrivals[k] = performance.timeOrigin + performance.now();
      if (++w.count === w.arrivals.length) w.reached();
    }
    return;
  }
  if (data.indexOf(PRESENCE) >= 0) counts.presence++;
  else if (data.indexOf(OFFLINE) >= 0) counts.offline++;
  else counts.other++;
}

/** Opens one app connection; resolves its clientId from the greeting, or null. */
function openOne(url: string, index: number, deadline: number): Promise<string | null> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { localAddress: SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length], perMessageDeflate: false, handshakeTimeout: 30_000 });
    const timer = setTimeout(() => finish(null), Math.max(1, Math.min(30_000, deadline - Date.now())));
    let done = false;
    let greeted = false;
    const finish = (clientId: string | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (clientId === null) ws.terminate();
      resolve(clientId);
    };
    ws.on('message', (data: Buffer) => {
      if (greeted) return onFrame(index, data);
      greeted = true;
      try {
        const greeting = JSON.parse(data.toString()) as { code?: unknown; msg?: unknown; data?: { clientId?: unknown } };
        finish(greeting.code === 0 && greeting.msg === 'success' && typeof greeting.data?.clientId === 'string' ? greeting.data.clientId : null);
      } catch {
        finish(null);
      }
    });
    ws.once('error', () => finish(null));
    ws.once('close', () => {
      if (done && greeted) counts.closed++;
      finish(null);
    });
    sockets[index] = ws;
  });
}

async function openAll(urls: string[], count: number, concurrency: number, timeoutMs: number) {
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  const clientIds: Array<string | null> = new Array(count).fill(null);
  let next = 0;
  let opened = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const k = next++;
      clientIds[k] = await openOne(urls[k % urls.length]!, k, deadline);
      if (clientIds[k] === null) failed++;
      else opened++;
      if ((opened + failed) % 2500 === 0) log(`${opened + failed}/${count} app connections (${failed} failed, ${Math.round(opened / ((performance.now() - started) / 1000))}/s)`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { opened, failed, seconds, clientIds };
}

function watch(marker: string, indexes: number[], timeoutMs: number): void {
  let reached: () => void = () => {};
  const all = new Promise<void>((resolve) => (reached = resolve));
  const w = { marker: Buffer.from(marker), slot: new Map(indexes.map((index, k) => [index, k])), arrivals: new Float64Array(indexes.length).fill(-1), count: 0, reached };
  if (indexes.length === 0) reached();
  watching = w;
  let timer: NodeJS.Timeout | undefined;
  watched = Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]).then(() => {
    clearTimeout(timer);
    watching = undefined;
    return w.arrivals;
  });
}

type Request = LoadRequest;

async function handle(request: Request): Promise<unknown> {
  switch (request.op) {
    case 'open':
      return openAll(request.urls as string[], request.count as number, request.concurrency as number, request.timeoutMs as number);
    case 'stats': {
      const usage = process.cpuUsage();
      return { ...counts, cpu: (usage.user + usage.system) / 1e6 };
    }
    case 'watch':
      watch(request.marker as string, request.indexes as number[], request.timeoutMs as number);
      return {};
    case 'collect': {
      const arrivals = await (watched ?? Promise.resolve(new Float64Array()));
      watched = undefined;
      return { arrivals };
    }
    case 'close':
      for (const ws of sockets) {
        const socket = (ws as unknown as { _socket?: { resetAndDestroy?: () => void } } | undefined)?._socket;
        if (socket?.resetAndDestroy) socket.resetAndDestroy();
        else ws?.terminate();
      }
      sockets.length = 0;
      return {};
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

serveLoadRequests(handle);
