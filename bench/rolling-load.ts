import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Device, type DeviceLog } from './rolling-device.js';

/**
 * One load process of the rolling-restart bench (bench/rolling.ts forks these: one process holds
 * at most ~19,800 sockets here). It owns a share of the devices and obeys the parent over IPC:
 * open them, send friend messages at a rate, follow the load balancer's node weights, settle,
 * and hand back what every device saw.
 */

export type ToLoad =
  | { type: 'init'; devices: Array<[index: number, userId: number, token: string, friendId: number]>; urls: string[]; weights: number[]; concurrency: number }
  | { type: 'weights'; weights: number[] }
  | { type: 'traffic'; rate: number }
  | { type: 'settle'; timeoutMs: number }
  | { type: 'report' };

export type FromLoad =
  | { type: 'progress'; line: string }
  | { type: 'opened'; opened: number; failed: number; seconds: number }
  | { type: 'settled'; notReady: number; pending: number; ms: number }
  | { type: 'report'; logs: DeviceLog[]; lag: number[] };

let devices: Device[] = [];
let weights: number[] = [];
let traffic: NodeJS.Timeout | undefined;
const tell = (m: FromLoad) => process.send!(m);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The load balancer: a live node (weight > 0) other than `exclude`, drawn by weight; -1 if none. */
function pick(exclude: number): number {
  let total = 0;
  for (let n = 0; n < weights.length; n++) if (n !== exclude) total += weights[n]!;
  if (total <= 0) return -1;
  let r = Math.random() * total;
  for (let n = 0; n < weights.length; n++) {
    if (n === exclude) continue;
    r -= weights[n]!;
    if (r < 0 && weights[n]! > 0) return n;
  }
  return weights.findLastIndex((w, n) => w > 0 && n !== exclude);
}

async function openAll(concurrency: number): Promise<void> {
  const started = Date.now();
  let next = 0;
  let opened = 0;
  let failed = 0;
  const worker = async () => {
    while (next < devices.length) {
      const d = devices[next++]!;
      if (await d.open(d.index % weights.length)) opened++;
      else failed++;
      if ((opened + failed) % 2500 === 0) tell({ type: 'progress', line: `${opened + failed}/${devices.length} (${failed} failed)` });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, devices.length) }, worker));
  tell({ type: 'opened', opened, failed, seconds: (Date.now() - started) / 1000 });
}

function startTraffic(rate: number): void {
  clearInterval(traffic);
  traffic = undefined;
  if (rate <= 0) return;
  const started = Date.now();
  let sent = 0;
  traffic = setInterval(() => {
    const due = Math.floor((rate * (Date.now() - started)) / 1000);
    for (; sent < due; sent++) devices[Math.floor(Math.random() * devices.length)]!.send();
  }, 10);
}

async function settle(timeoutMs: number): Promise<void> {
  const started = Date.now();
  const unsettled = () => devices.filter((d) => !d.ready || d.pendingCount > 0);
  while (unsettled().length > 0 && Date.now() - started < timeoutMs) await sleep(200);
  const left = unsettled();
  tell({ type: 'settled', notReady: left.filter((d) => !d.ready).length, pending: left.reduce((n, d) => n + d.pendingCount, 0), ms: Date.now() - started });
}

setInterval(() => {
  const now = Date.now();
  for (const d of devices) d.tick(now);
}, 1000).unref();

/** This process's longest event-loop delay in each 500 ms (at, ms pairs): a slow load client would show here. */
const lag: number[] = [];
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
setInterval(() => {
  lag.push(Date.now(), delay.max / 1e6);
  delay.reset();
}, 500).unref();

process.on('message', (m: ToLoad) => {
  switch (m.type) {
    case 'init':
      weights = m.weights;
      devices = m.devices.map(([index, userId, token, friendId]) => new Device(index, userId, token, friendId, m.urls, pick));
      void openAll(m.concurrency);
      return;
    case 'weights':
      weights = m.weights;
      return;
    case 'traffic':
      return startTraffic(m.rate);
    case 'settle':
      return void settle(m.timeoutMs);
    case 'report':
      clearInterval(traffic);
      tell({ type: 'report', logs: devices.map((d) => d.stop()), lag });
      return;
    default:
  }
});
process.on('disconnect', () => process.exit(0));
