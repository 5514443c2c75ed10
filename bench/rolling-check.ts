import { percentile } from './load-client.js';
import type { DeviceLog } from './rolling-device.js';

/** One node's restart as the bench drove it (Date.now() ms). */
export interface RestartTimes {
  node: number;
  sigterm: number;
  exited: number;
  /** /readyz answered 200 again. */
  ready: number;
  /** The first 503 of /readyz (polled every 100 ms from SIGTERM). */
  first503?: number;
  /** What the node logged of its drain ('drained'), if it did. */
  drained?: { sockets: number; ms: number; peakPerSecond: number };
}

/** One scrape of every node's /metrics: weim_ws_sign_ins_total and weim_ws_sockets (NaN: no answer). */
export interface Scrape {
  at: number;
  signIns: number[];
  sockets: number[];
  /** Longest event-loop delay since the previous scrape (nodejs_eventloop_lag_max_seconds), ms. */
  lagMax: number[];
  /** How long each node took to answer the scrape (ms). */
  took: number[];
}

export interface RestartFigures {
  node: number;
  drained: RestartTimes['drained'];
  /** Devices whose socket was on the node at SIGTERM. */
  moved: number;
  told: number;
  closed1012: number;
  closedOther: number;
  /** From SIGTERM: /readyz answered 503. */
  first503Ms: number | undefined;
  /** From SIGTERM: first and last close of a moved device's socket, and its last sign-in elsewhere (ms). */
  firstCloseMs: number;
  lastCloseMs: number;
  lastBackMs: number;
  /** Moved devices signed in again (elsewhere, or on the node once it was ready again), and how many of them before the next restart began. */
  back: number;
  backInSpan: number;
  /** Closes of moved sockets with a code other than 1012, by code (-1: the attempt never opened). */
  otherCodes: Record<number, number>;
  /** Close → signed in elsewhere (ms): p50, p99, max. */
  gap: [number, number, number];
  /** Of the moved devices' reconnects: attempts that failed (no Cmd 4), and the successful one's phases (p50/p99 ms): close → connect, connect → open (TCP + upgrade), open → Cmd 4, Cmd 4 → sync done. */
  failedAttempts: number;
  phases: Record<'wait' | 'tcp' | 'open' | 'signIn' | 'sync', [number, number]>;
  /** drain_delay_ms + moved / drain_closes_per_second (ms). */
  windowMs: number;
  /** Sign-ins at the surviving nodes, counted by the devices (Cmd 4 arrival): peak in any 1 s window sliding by 1 ms, and per whole second from SIGTERM. */
  clientPeak: number;
  perSecond: number[];
  /** The moved sockets' closes as the devices saw them: peak in any 1 s window (the drain's own rate). */
  closePeak: number;
  /** The same counted by the nodes (weim_ws_sign_ins_total, scraped every second): peak over 1 s, and per whole second from SIGTERM (interpolated between scrapes). */
  serverPeak: number;
  serverPerSecond: number[];
  /** Longest event-loop delay at a surviving node between SIGTERM and the draining node's exit (ms). */
  survivorLagMs: number;
  loaderLagMs: number;
  /** Slowest /metrics answer of a surviving node between SIGTERM and the draining node's exit (ms). */
  survivorScrapeMs: number;
  exitMs: number;
  startMs: number;
}

/**
 * Per restart: who moved, when their sockets closed and signed in again elsewhere, and the
 * sign-in rate the surviving nodes took, counted on both sides. `until` is where the restart's
 * span ends (the next SIGTERM, or the end of the run).
 */
export function restartFigures(logs: DeviceLog[], r: RestartTimes, until: number, scrapes: Scrape[], drain: { delayMs: number; perSecond: number }, loaderLag: number[]): RestartFigures {
  let loaderLagMs = 0;
  for (let i = 0; i < loaderLag.length; i += 2) if (loaderLag[i]! >= r.sigterm && loaderLag[i]! <= r.exited + 500) loaderLagMs = Math.max(loaderLagMs, loaderLag[i + 1]!);
  let moved = 0;
  let told = 0;
  let closed1012 = 0;
  let closedOther = 0;
  let back = 0;
  let backInSpan = 0;
  const otherCodes: Record<number, number> = {};
  let firstClose = Infinity;
  let lastClose = 0;
  let lastBack = 0;
  const gaps: number[] = [];
  let failedAttempts = 0;
  const phases = { wait: [] as number[], tcp: [] as number[], open: [] as number[], signIn: [] as number[], sync: [] as number[] };
  const survivorSignIns: number[] = [];
  const closeTimes: number[] = [];
  for (const log of logs) {
    const s = log.signIns;
    for (let i = 0; i < s.length; i += 4) if (s[i]! >= r.sigterm && s[i]! < until && s[i + 1] !== r.node) survivorSignIns.push(s[i]!);
    // The socket it held at SIGTERM: its last sign-in before then, if not closed since.
    let socketNo = -1;
    let node = -1;
    for (let i = 0; i < s.length; i += 4) if (s[i]! < r.sigterm) [node, socketNo] = [s[i + 1]!, s[i + 2]!];
    if (node !== r.node) continue;
    const c = log.closes;
    let closedAt = -1;
    let closedBefore = false;
    for (let i = 0; i < c.length; i += 4) {
      if (c[i + 3] !== socketNo) continue;
      if (c[i]! < r.sigterm) closedBefore = true;
      else closedAt = c[i]!;
      if (c[i]! < r.sigterm) continue;
      if (c[i + 1] === 1012) closed1012++;
      else {
        closedOther++;
        otherCodes[c[i + 1]!] = (otherCodes[c[i + 1]!] ?? 0) + 1;
      }
    }
    if (closedBefore) continue;
    moved++;
    for (let i = 0; i < log.moves.length; i += 3) if (log.moves[i]! >= r.sigterm && log.moves[i]! < until && log.moves[i + 2] === r.node) told++;
    if (closedAt < 0) continue;
    closeTimes.push(closedAt);
    const a = log.attempts;
    for (let i = 0; i < a.length; i += 6) {
      if (a[i]! < closedAt) continue;
      if (a[i + 2] === -1) {
        failedAttempts++;
        continue;
      }
      phases.wait.push(a[i]! - closedAt);
      phases.tcp.push(a[i + 5]! - a[i]!);
      phases.open.push(a[i + 1]! - a[i + 5]!);
      phases.signIn.push(a[i + 2]! - a[i + 1]!);
      if (a[i + 3]! >= 0) phases.sync.push(a[i + 3]! - a[i + 2]!);
      break;
    }
    firstClose = Math.min(firstClose, closedAt);
    lastClose = Math.max(lastClose, closedAt);
    for (let i = 0; i < s.length; i += 4) {
      if (s[i]! >= closedAt && (s[i + 1] !== r.node || s[i]! >= r.ready)) {
        back++;
        if (s[i]! < until) backInSpan++;
        gaps.push(s[i]! - closedAt);
        lastBack = Math.max(lastBack, s[i]!);
        break;
      }
    }
  }
  const clientPeak = slidingPeak(survivorSignIns);
  const closePeak = slidingPeak(closeTimes);
  const perSecond: number[] = [];
  for (const at of survivorSignIns) {
    const k = Math.floor((at - r.sigterm) / 1000);
    while (perSecond.length <= k) perSecond.push(0);
    perSecond[k]!++;
  }
  while (perSecond.length > 0 && perSecond.at(-1) === 0) perSecond.pop();
  gaps.sort((a, b) => a - b);
  const p50p99 = (values: number[]): [number, number] => {
    values.sort((x, y) => x - y);
    return [percentile(values, 0.5), percentile(values, 0.99)];
  };
  return {
    failedAttempts,
    phases: { wait: p50p99(phases.wait), tcp: p50p99(phases.tcp), open: p50p99(phases.open), signIn: p50p99(phases.signIn), sync: p50p99(phases.sync) },
    node: r.node, drained: r.drained, first503Ms: r.first503 === undefined ? undefined : r.first503 - r.sigterm, backInSpan, otherCodes, moved, told, closed1012, closedOther, back,
    firstCloseMs: firstClose - r.sigterm, lastCloseMs: lastClose - r.sigterm, lastBackMs: lastBack - r.sigterm,
    gap: [percentile(gaps, 0.5), percentile(gaps, 0.99), percentile(gaps, 1)],
    windowMs: drain.delayMs + (moved / drain.perSecond) * 1000,
    clientPeak, perSecond, closePeak,
    serverPeak: serverPeak(scrapes, r, until),
    serverPerSecond: serverPerSecond(scrapes, r, until),
    loaderLagMs,
    survivorScrapeMs: Math.max(0, ...scrapes.filter((x) => x.at >= r.sigterm && x.at <= r.exited + 500).flatMap((x) => x.took.filter((_v, n) => n !== r.node))),
    survivorLagMs: Math.max(0, ...scrapes.filter((x) => x.at >= r.sigterm && x.at <= r.exited + 500).flatMap((x) => x.lagMax.filter((v, n) => n !== r.node && Number.isFinite(v)))),
    exitMs: r.exited - r.sigterm, startMs: r.ready - r.exited,
  };
}

/** Sign-ins at the nodes other than `r.node` in each whole second from SIGTERM to `until`, the counters interpolated between scrapes. */
function serverPerSecond(scrapes: Scrape[], r: RestartTimes, until: number): number[] {
  const points = scrapes.map((s) => [s.at, s.signIns.reduce((sum, v, n) => (n === r.node ? sum : sum + v), 0)] as const).filter(([, v]) => Number.isFinite(v));
  const at = (t: number): number => {
    const i = points.findIndex(([when]) => when >= t);
    if (i <= 0) return i === 0 ? points[0]![1] : points.at(-1)![1];
    const [t0, v0] = points[i - 1]!;
    const [t1, v1] = points[i]!;
    return v0 + ((v1 - v0) * (t - t0)) / (t1 - t0);
  };
  const out: number[] = [];
  for (let t = r.sigterm; t + 1000 <= until; t += 1000) out.push(Math.round(at(t + 1000) - at(t)));
  while (out.length > 0 && out.at(-1) === 0) out.pop();
  return out;
}

/** The most of `times` (ms, sorted here) in any window of 1 s. */
function slidingPeak(times: number[]): number {
  times.sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

/** Peak sign-ins/s at the nodes other than `r.node` between SIGTERM and `until`, over scrapes ≥ 1 s apart. */
function serverPeak(scrapes: Scrape[], r: RestartTimes, until: number): number {
  const survivors = (s: Scrape) => s.signIns.reduce((sum, v, n) => (n === r.node ? sum : sum + v), 0);
  const span = scrapes.filter((s) => s.at >= r.sigterm - 1000 && s.at <= until && Number.isFinite(survivors(s)));
  let peak = 0;
  for (let i = 0, j = 0; i < span.length; i++) {
    while (j + 1 < i && span[i]!.at - span[j + 1]!.at >= 1000) j++;
    if (span[i]!.at - span[j]!.at >= 1000) peak = Math.max(peak, ((survivors(span[i]!) - survivors(span[j]!)) * 1000) / (span[i]!.at - span[j]!.at));
  }
  return peak;
}

export interface StoredRow { id: number; sender: number; to: number; clientMsgId: string }

export interface MessageFigures {
  sent: number;
  acked: number;
  refused: number;
  unanswered: number;
  resends: number;
  stored: number;
  /** Rows sharing a (sender, ClientMsgId): stored twice. */
  storedTwice: number;
  /** Acks naming a message id the database does not have. */
  ackedNotStored: number;
  /** Rows whose send was never answered to its device (neither ack nor the own frame of a sync). */
  storedUnanswered: number;
  /** Rows the recipient device never received, the device being signed in and synced at the end. */
  lost: number;
  /** Rows not received by a device that was not signed in at the end (it had not come back yet). */
  undeliveredOffline: number;
  devicesOffline: number;
  /** Devices whose set of received messages differs from the rows addressed to them. */
  devicesMismatched: number;
  delivered: number;
  /** Frames received for ids the database does not have. */
  phantom: number;
  /** A seq twice on one socket, or a seq at or below the cursor the socket's sign-in presented: the server's duplicates. */
  dupOnSocket: number;
  belowCursor: number;
  /** A friend message received again on a later socket, above the cursor that socket presented (the protocol allows it). */
  againAboveCursor: number;
  /** Friend frames on one socket whose seq is below one received before on it. */
  outOfOrder: number;
}

/** Counts, per device, the messages sent, acked, stored and delivered against the database. */
export function messageFigures(logs: DeviceLog[], rows: StoredRow[]): MessageFigures {
  const f: MessageFigures = {
    sent: 0, acked: 0, refused: 0, unanswered: 0, resends: 0, stored: rows.length, storedTwice: 0, ackedNotStored: 0, storedUnanswered: 0,
    lost: 0, undeliveredOffline: 0, devicesOffline: 0, devicesMismatched: 0, delivered: 0, phantom: 0, dupOnSocket: 0, belowCursor: 0, againAboveCursor: 0, outOfOrder: 0,
  };
  const byId = new Map(rows.map((row) => [row.id, row]));
  const keys = new Set(rows.map((row) => `${row.sender}/${row.clientMsgId}`));
  f.storedTwice = rows.length - keys.size;
  const toUser = new Map<number, Set<number>>();
  for (const row of rows) {
    let set = toUser.get(row.to);
    if (!set) toUser.set(row.to, (set = new Set()));
    set.add(row.id);
  }
  const ackedIds = new Set<number>();
  for (const log of logs) {
    f.sent += log.sent;
    f.acked += log.acks.length / 2;
    f.refused += log.refused.length;
    f.unanswered += log.unanswered.length;
    f.resends += log.resends;
    for (let i = 1; i < log.acks.length; i += 2) {
      ackedIds.add(log.acks[i]!);
      if (!byId.has(log.acks[i]!)) f.ackedNotStored++;
    }
    const presented = new Map<number, number>();
    for (let i = 0; i < log.signIns.length; i += 4) presented.set(log.signIns[i + 2]!, log.signIns[i + 3]!);
    const seen = new Set<number>();
    const onSocket = new Set<string>();
    const lastSeq = new Map<number, number>();
    for (let i = 0; i < log.frames.length; i += 5) {
      const [id, seq, socketNo, mine] = [log.frames[i]!, log.frames[i + 1]!, log.frames[i + 2]!, log.frames[i + 3]!];
      let defect = true;
      if (onSocket.has(`${socketNo}/${seq}`)) f.dupOnSocket++;
      else if (seq <= (presented.get(socketNo) ?? 0)) f.belowCursor++;
      else defect = false;
      onSocket.add(`${socketNo}/${seq}`);
      if (mine) continue;
      if (!byId.has(id)) f.phantom++;
      if (seq < (lastSeq.get(socketNo) ?? 0)) f.outOfOrder++;
      lastSeq.set(socketNo, Math.max(seq, lastSeq.get(socketNo) ?? 0));
      if (seen.has(id) && !defect) f.againAboveCursor++;
      seen.add(id);
    }
    f.delivered += seen.size;
    const expected = toUser.get(log.userId) ?? new Set<number>();
    let missing = 0;
    for (const id of expected) if (!seen.has(id)) missing++;
    if (!log.ready) {
      f.devicesOffline++;
      f.undeliveredOffline += missing;
      continue;
    }
    f.lost += missing;
    if (missing > 0 || seen.size !== expected.size) f.devicesMismatched++;
  }
  for (const row of rows) if (!ackedIds.has(row.id)) f.storedUnanswered++;
  return f;
}
