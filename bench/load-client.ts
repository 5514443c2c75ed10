import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { sleep } from './targets.js';

/** Loopback source addresses the sockets rotate over (one address runs out of ports past ~25k). */
const SOURCE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];
const PREFIX = Buffer.from('{"Cmd":');

/** The command of a server frame. Both servers serialise `Cmd` first; anything else is parsed. */
function cmdOf(data: Buffer): number {
  if (data.length > PREFIX.length && data.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) === 0) {
    let cmd = 0;
    for (let i = PREFIX.length; i < data.length; i++) {
      const c = data[i]!;
      if (c < 48 || c > 57) return cmd;
      cmd = cmd * 10 + c - 48;
    }
  }
  return Number((JSON.parse(data.toString()) as { Cmd?: unknown }).Cmd);
}

export interface OpenResult {
  opened: number;
  failed: number;
  seconds: number;
  perSecond: number;
}

export interface FanoutResult {
  /** Milliseconds from the send until the last member had the frame, per repeat. */
  lastMs: number[];
  /** Median arrival over members, per repeat. */
  medianMs: number[];
  /** Members that had not received it by the timeout, per repeat. */
  missing: number[];
}

export interface DirectResult {
  sent: number;
  acks: number;
  delivered: number;
  failures: number;
  firstFailure: string | undefined;
  /** Acked messages per second, from the first send to the last ack. */
  ackedPerSecond: number;
  /** Send → receipt on the recipient (ms), sorted. */
  latencies: Float64Array;
}

/** One process's worth of signed-in sockets (keep it ≤ 18k: 20k open files per process). */
export class LoadClient {
  private readonly sockets: WebSocket[] = [];
  private onFrame: (index: number, cmd: number, data: Buffer) => void = () => {};

  constructor(private readonly log: (line: string) => void) {}

  /**
   * Opens one socket per token (at most `concurrency` connecting at once) and signs each in;
   * given several URLs (nodes of a cluster), socket i goes to `url[i % url.length]`.
   */
  async openAll(url: string | readonly string[], tokens: readonly string[], concurrency: number, timeoutMs = 120_000): Promise<OpenResult> {
    const urls = typeof url === 'string' ? [url] : url;
    const started = performance.now();
    const deadline = Date.now() + timeoutMs;
    let next = 0;
    let opened = 0;
    let failed = 0;
    const worker = async () => {
      while (next < tokens.length && Date.now() < deadline) {
        const index = next++;
        if (await this.openOne(urls[index % urls.length]!, index, tokens[index]!, deadline)) opened++;
        else failed++;
        if ((opened + failed) % 1000 === 0) {
          const seconds = (performance.now() - started) / 1000;
          this.log(`  ${opened + failed}/${tokens.length} sockets (${opened} signed in, ${failed} failed, ${Math.round(opened / seconds)}/s)`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, tokens.length) }, worker));
    const seconds = (performance.now() - started) / 1000;
    return { opened, failed, seconds, perSecond: opened / seconds };
  }

  private openOne(url: string, index: number, token: string, deadline: number): Promise<boolean> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, { localAddress: SOURCE_ADDRESSES[index % SOURCE_ADDRESSES.length], perMessageDeflate: false, handshakeTimeout: 30_000 });
      const timer = setTimeout(() => finish(false), Math.max(1, Math.min(30_000, deadline - Date.now())));
      let done = false;
      const finish = (ok: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (!ok) ws.terminate();
        resolve(ok);
      };
      ws.once('open', () => ws.send(JSON.stringify({ Cmd: 3, Body: token })));
      ws.on('message', (data: Buffer) => {
        const cmd = cmdOf(data);
        if (!done) return finish(cmd === 4);
        this.onFrame(index, cmd, data);
      });
      ws.once('error', () => finish(false));
      ws.once('close', () => finish(false));
      this.sockets[index] = ws;
    });
  }

  /**
   * `repeats` times: socket `sender` sends one message to group `groupId`; measures until every
   * other socket has its Cmd 10 (or `timeoutMs` passes).
   */
  async groupFanout(sender: number, groupId: number, repeats: number, pauseMs: number, timeoutMs = 20_000): Promise<FanoutResult> {
    const result: FanoutResult = { lastMs: [], medianMs: [], missing: [] };
    const n = this.sockets.length;
    for (let r = 0; r < repeats; r++) {
      const arrivals = new Float64Array(n).fill(-1);
      let count = 0;
      let started = 0;
      let reached: () => void = () => {};
      const all = new Promise<void>((resolve) => (reached = resolve));
      this.onFrame = (index, cmd) => {
        if (cmd !== 10 || arrivals[index]! >= 0) return;
        arrivals[index] = performance.now() - started;
        if (++count === n - 1) reached();
      };
      started = performance.now();
      this.sockets[sender]!.send(JSON.stringify({ Cmd: 17, ToId: groupId, Ope: 1, Type: 0, Body: `group fan-out ${r + 1}`, ClientMsgId: `g-${Date.now()}-${r}` }));
      await Promise.race([all, sleep(timeoutMs)]);
      const times = Array.from(arrivals).filter((t) => t >= 0).sort((a, b) => a - b);
      result.lastMs.push(times.length > 0 ? times[times.length - 1]! : Number.NaN);
      result.medianMs.push(percentile(times, 0.5));
      result.missing.push(n - 1 - count);
      this.log(`  group message ${r + 1}/${repeats}: last of ${count}/${n - 1} members after ${result.lastMs.at(-1)!.toFixed(1)} ms (median ${result.medianMs.at(-1)!.toFixed(1)} ms)`);
      this.onFrame = () => {};
      await sleep(pauseMs);
    }
    return result;
  }

  /**
   * For `seconds`, sends `rate` friend messages a second (evenly, in 5 ms ticks, each from one
   * side of a random pair to the other) and measures send → Cmd 6 on the recipient; then waits up
   * to `drainMs` for the stragglers.
   */
  async direct(pairs: ReadonlyArray<readonly [number, number]>, userIds: readonly number[], rate: number, seconds: number, drainMs = 5000): Promise<DirectResult> {
    const capacity = Math.ceil(rate * seconds) + 16;
    const latencies = new Float64Array(capacity);
    const run = Date.now().toString(36);
    let sent = 0;
    let acks = 0;
    let delivered = 0;
    let failures = 0;
    let firstFailure: string | undefined;
    let lastAck = 0;
    this.onFrame = (_index, cmd, data) => {
      if (cmd === 6) {
        const body = (JSON.parse(data.toString()) as { Body: string }).Body;
        if (delivered < capacity) latencies[delivered] = performance.now() - Number(body.slice(1));
        delivered++;
      } else if (cmd === 18) {
        acks++;
        lastAck = performance.now();
      } else if (cmd === 2) {
        failures++;
        firstFailure ??= data.toString().slice(0, 200);
      }
    };
    const started = performance.now();
    const end = started + seconds * 1000;
    let lastReport = started;
    for (let now = started; now < end; now = performance.now()) {
      const due = Math.min(capacity, Math.floor((rate * (now - started)) / 1000));
      for (; sent < due; sent++) {
        const [a, b] = pairs[Math.floor(Math.random() * pairs.length)]!;
        const [from, to] = Math.random() < 0.5 ? [a, b] : [b, a];
        this.sockets[from]!.send(`{"Cmd":17,"ToId":${userIds[to]},"Ope":0,"Type":0,"Body":"t${performance.now()}","ClientMsgId":"d-${run}-${sent}"}`);
      }
      if (now - lastReport >= 1000) {
        this.log(`  ${Math.round((now - started) / 1000)} s: ${sent} sent, ${acks} acked, ${delivered} delivered, ${failures} refused`);
        lastReport = now;
      }
      await sleep(5);
    }
    const drainEnd = performance.now() + drainMs;
    while ((acks + failures < sent || delivered + failures < sent) && performance.now() < drainEnd) await sleep(20);
    this.onFrame = () => {};
    const measured = latencies.slice(0, Math.min(delivered, capacity)).sort();
    return { sent, acks, delivered, failures, firstFailure, ackedPerSecond: acks / (((lastAck || performance.now()) - started) / 1000), latencies: measured };
  }

  /** Sends one text frame on socket `index`; returns the send time on the machine's clock (ms since the epoch). */
  send(index: number, text: string): number {
    const at = performance.timeOrigin + performance.now();
    this.sockets[index]!.send(text);
    return at;
  }

  /**
   * Starts watching for the first frame of command `cmd` on each of `indexes`; the promise gives,
   * per index, when it arrived on the machine's clock (ms since the epoch, comparable between
   * processes on one machine) or -1 if it had not within `timeoutMs`. For measuring one send that
   * reaches sockets held by several load processes.
   */
  watch(cmd: number, indexes: readonly number[], timeoutMs: number): Promise<Float64Array> {
    const arrivals = new Float64Array(indexes.length).fill(-1);
    const slot = new Map(indexes.map((index, k) => [index, k]));
    let count = 0;
    let reached: () => void = () => {};
    const all = new Promise<void>((resolve) => (reached = resolve));
    if (indexes.length === 0) reached();
    this.onFrame = (index, frameCmd) => {
      const k = slot.get(index);
      if (frameCmd !== cmd || k === undefined || arrivals[k]! >= 0) return;
      arrivals[k] = performance.timeOrigin + performance.now();
      if (++count === indexes.length) reached();
    };
    return Promise.race([all, sleep(timeoutMs)]).then(() => {
      this.onFrame = () => {};
      return arrivals;
    });
  }

  /** Cuts every socket with a TCP reset (no TIME_WAIT left behind for the next run). */
  async closeAll(): Promise<void> {
    for (const ws of this.sockets) {
      const socket = (ws as unknown as { _socket?: { resetAndDestroy?: () => void } })._socket;
      if (socket?.resetAndDestroy) socket.resetAndDestroy();
      else ws.terminate();
    }
    this.sockets.length = 0;
    await sleep(500);
  }
}

/** The p-quantile (0..1) of sorted values, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
