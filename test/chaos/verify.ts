import { type BurstReport, type BurstSpec, checkBursts } from './burst.js';
import type { DeviceRecord, FrameRecord } from './records.js';
import type { Truth } from './truth.js';

/**
 * One fault as it happened: began (startAt), the service/node went down (downAt), answered again
 * (upAt). A kill carries its burst: where it wrote and who had to get it live (burst.ts).
 */
export interface FaultRecord {
  name: string; startAt: number; downAt: number; upAt: number; note: string; burst?: BurstSpec;
  /** What /readyz failed to say during and after the fault (the database's: 503 while down, 200 after). */
  readinessProblems?: string[];
}

export interface VerifyInput {
  devices: DeviceRecord[];
  truth: Truth;
  faults: FaultRecord[];
  trafficStart: number;
  trafficEnd: number;
  /** Node processes that exited without being asked to. */
  unexpectedExits: number;
  /** A post-fault window starts this long after the fault ended (2 s). */
  windowDelayMs?: number;
}

export interface PhaseReport {
  name: string;
  /** Fault (down → up) in ms; 0 for the baseline. */
  downMs: number;
  /** The measurement window [from, to): messages created in it count for the live share. */
  from: number;
  to: number;
  messages: number;
  /** Frames the member devices (all but the sending one) should get for those messages. */
  expected: number;
  /** First frames received for them, and how many of those were live. */
  deliveries: number;
  live: number;
  liveShare: number;
  /** From the fault's end to the first live frame anywhere after it. */
  firstLiveMs: number | null;
  cmd24: { total: number; devices: number; max: number };
  /** By message creation time, over the whole phase (fault start to the next fault's start). */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  refused1500: number;
  refusedOther: number;
  reconnects: number;
}

export interface Report {
  /** /readyz answers that were wrong around a fault (see FaultRecord.readinessProblems). */
  readinessProblems: string[];
  totals: { users: number; devices: number; messagesStored: number; framesDelivered: number; sent: number; acks: number; faults: number; trafficSeconds: number };
  lost: number;
  duplicated: number;
  dupFrameFrame: number;
  /** …of which the second copy came in a sync. */
  dupFrameFrameSync: number;
  dupFrameAck: number;
  /** …of which the send was written again after its socket closed unanswered (its ack was lost). */
  dupFrameAckAfterLoss: number;
  /**
   * …and of those, the frame came by sync before the resend's ack: the sync a new socket starts
   * with cannot know the device is about to resend, so docs/protocol.md as written allows this
   * one (a client tells them apart by Id). Still counted in `duplicated`, as the brief defines it.
   */
  dupFrameAckBySyncBeforeResendAck: number;
  outOfOrder: number;
  outOfOrderLive: number;
  outOfOrderSync: number;
  /**
   * Out-of-order frames that were the device's FIRST copy of their seq: a hole filled late (a live
   * frame that never came, repaired only by a later sync). The rest of outOfOrder are re-sends.
   */
  lateFills: number;
  ackedMissing: number;
  refused1500: number;
  refusedOther: Array<{ body: string; count: number }>;
  unanswered: number;
  unknownFrames: number;
  dbGaps: number;
  ackConflicts: number;
  unexpectedExits: number;
  syncFailures: number;
  signInFailures: number;
  stuckSyncs: number;
  retries: number;
  timeouts: number;
  /** Sends answered only after their socket closed under them (written again on the next one). */
  answeredAfterSocketLoss: number;
  phases: PhaseReport[];
  /** Kill bursts: each message reached every online recipient device live within lease + 3 s of the SIGKILL. */
  burst: BurstReport;
  samples: Record<'lost' | 'duplicated' | 'frameAndAck' | 'outOfOrder' | 'ackedMissing' | 'unknownFrames' | 'refusals', string[]>;
}

const key = (convId: number, seq: number) => `${convId}:${seq}`;
const isInternal = (r: { body: string; code: number | undefined }) => r.code === 1500 || r.body === 'internal error';

/** Pure: the recorded device data against the database's truth. */
export function verify(input: VerifyInput): Report {
  const { devices, truth, faults } = input;
  const delay = input.windowDelayMs ?? 2000;
  const spans = [
    { name: 'baseline', downMs: 0, spanFrom: -Infinity, from: input.trafficStart, to: faults[0]?.startAt ?? input.trafficEnd, upAt: undefined as number | undefined },
    ...faults.map((f, i) => ({ name: f.name, downMs: f.upAt - f.downAt, spanFrom: f.startAt, from: f.upAt + delay, to: faults[i + 1]?.startAt ?? input.trafficEnd, upAt: f.upAt as number | undefined })),
  ];
  const phaseOf = (t: number) => {
    let p = 0;
    for (let i = 1; i < spans.length; i++) if (t >= spans[i]!.spanFrom) p = i;
    return p;
  };
  const windowOf = (t: number) => spans.findIndex((s) => t >= s.from && t < s.to);
  const phases: PhaseReport[] = spans.map((s) => ({
    name: s.name, downMs: s.downMs, from: s.from, to: s.to, messages: 0, expected: 0, deliveries: 0, live: 0, liveShare: 1,
    firstLiveMs: null, cmd24: { total: 0, devices: 0, max: 0 }, lost: 0, duplicated: 0, outOfOrder: 0, refused1500: 0, refusedOther: 0, reconnects: 0,
  }));
  const samples: Report['samples'] = { lost: [], duplicated: [], frameAndAck: [], outOfOrder: [], ackedMissing: [], unknownFrames: [], refusals: [] };
  const sample = (list: string[], text: string) => void (list.length < 10 && list.push(text));
  const r: Report = {
    readinessProblems: [],
    totals: { users: new Set(devices.map((d) => d.userId)).size, devices: devices.length, messagesStored: 0, framesDelivered: 0, sent: 0, acks: 0, faults: faults.length, trafficSeconds: (input.trafficEnd - input.trafficStart) / 1000 },
    lost: 0, duplicated: 0, dupFrameFrame: 0, dupFrameFrameSync: 0, dupFrameAck: 0, dupFrameAckAfterLoss: 0, dupFrameAckBySyncBeforeResendAck: 0, outOfOrder: 0, outOfOrderLive: 0,
    outOfOrderSync: 0, lateFills: 0, ackedMissing: 0, refused1500: 0, refusedOther: [], unanswered: 0, unknownFrames: 0, dbGaps: 0, ackConflicts: 0,
    unexpectedExits: input.unexpectedExits, syncFailures: 0, signInFailures: 0, stuckSyncs: 0, retries: 0, timeouts: 0, answeredAfterSocketLoss: 0, phases, samples,
    burst: checkBursts(devices, truth, faults),
  };
  const row = (convId: number, seq: number) => truth.messages.get(convId)?.get(seq);
  const at = (convId: number, seq: number, fallback: number) => row(convId, seq)?.createdAt ?? fallback;
  const ackerOf = new Map<number, string>();
  for (const d of devices) for (const a of d.acks) ackerOf.set(a.id, d.name);
  const devicesOf = new Map<number, DeviceRecord[]>();
  for (const d of devices) devicesOf.set(d.userId, [...(devicesOf.get(d.userId) ?? []), d]);
  const refusedOther = new Map<string, number>();

  for (const d of devices) {
    r.totals.framesDelivered += d.frames.length;
    r.totals.sent += d.sent;
    r.totals.acks += d.acks.length;
    const mine = truth.convsOf.get(d.userId) ?? new Map<number, number>();
    const frames = new Map<string, number>();
    const firstFrame = new Map<string, FrameRecord>();
    /** What the device really holds: frames and acks that match the database's row. */
    const held = new Set<string>();
    const maxSeen = new Map<number, number>();
    for (const f of d.frames) {
      const k = key(f.convId, f.seq);
      const stored = row(f.convId, f.seq);
      const from = mine.get(f.convId);
      if (!stored || stored.id !== f.id || from === undefined || f.seq < from) {
        r.unknownFrames++;
        sample(samples.unknownFrames, `${d.name} conv ${f.convId} seq ${f.seq} id ${f.id} (db id ${stored?.id ?? 'none'})`);
      } else held.add(k);
      const p = phases[phaseOf(stored?.createdAt ?? f.at)]!;
      const count = (frames.get(k) ?? 0) + 1;
      frames.set(k, count);
      if (count === 1) firstFrame.set(k, f);
      if (count > 1) {
        r.dupFrameFrame++;
        if (!f.live) r.dupFrameFrameSync++;
        p.duplicated++;
        sample(samples.duplicated, `${d.name} conv ${f.convId} seq ${f.seq} twice as a frame (2nd ${f.live ? 'live' : 'sync'}, socket ${f.socketNo})`);
      } else if (stored && ackerOf.get(stored.id) !== d.name) {
        // First copies for the recipients the window expects (a sender's own copy is a duplicate).
        const w = windowOf(stored.createdAt);
        if (w >= 0) {
          phases[w]!.deliveries++;
          if (f.live) phases[w]!.live++;
        }
      }
      const max = maxSeen.get(f.convId) ?? 0;
      if (f.seq < max) {
        r.outOfOrder++;
        if (f.live) r.outOfOrderLive++;
        else r.outOfOrderSync++;
        if (count === 1) r.lateFills++;
        p.outOfOrder++;
        sample(samples.outOfOrder, `${d.name} conv ${f.convId} seq ${f.seq} after ${max} (${f.live ? 'live' : 'sync'}, socket ${f.socketNo})`);
      } else maxSeen.set(f.convId, f.seq);
    }
    for (const a of d.acks) {
      const stored = row(a.convId, a.seq);
      if (!stored || stored.id !== a.id || stored.senderId !== d.userId) {
        r.ackedMissing++;
        sample(samples.ackedMissing, `${d.name} ${a.clientMsgId} acked id ${a.id} conv ${a.convId} seq ${a.seq}; db: ${stored ? `id ${stored.id} sender ${stored.senderId}` : 'no row'}`);
      } else held.add(key(a.convId, a.seq));
      const k = key(a.convId, a.seq);
      if (a.afterSocketLoss) r.answeredAfterSocketLoss++;
      if (frames.has(k)) {
        const f = firstFrame.get(k)!;
        r.dupFrameAck++;
        if (a.afterSocketLoss) {
          r.dupFrameAckAfterLoss++;
          if (!f.live && f.at <= a.at) r.dupFrameAckBySyncBeforeResendAck++;
        }
        phases[phaseOf(at(a.convId, a.seq, a.at))]!.duplicated++;
        sample(samples.frameAndAck, `${d.name} conv ${a.convId} seq ${a.seq} as a frame and as its own ack (${a.clientMsgId}, ${a.attempts} attempts${a.afterSocketLoss ? ', resent after socket loss' : ''}; ` +
          `frame ${f.live ? 'live' : 'by sync'} on socket ${f.socketNo} ${f.at - a.at} ms after the ack)`);
      }
    }
    for (const [convId, from] of mine) {
      for (const m of truth.messages.get(convId)?.values() ?? []) {
        if (m.seq < from || held.has(key(convId, m.seq))) continue;
        r.lost++;
        phases[phaseOf(m.createdAt)]!.lost++;
        sample(samples.lost, `${d.name} conv ${convId} seq ${m.seq} (id ${m.id}, created ${new Date(m.createdAt).toISOString().slice(11, 23)})`);
      }
    }
    for (const x of d.refusals) {
      const p = phases[phaseOf(x.at)]!;
      if (isInternal(x)) {
        r.refused1500++;
        p.refused1500++;
      } else {
        p.refusedOther++;
        refusedOther.set(x.body, (refusedOther.get(x.body) ?? 0) + 1);
      }
      sample(samples.refusals, `${d.name} ${x.clientMsgId}: ${x.body}${x.code !== undefined ? ` (${x.code})` : ''}`);
    }
    const perPhase24 = new Map<number, number>();
    for (const t of d.syncNeeded) perPhase24.set(phaseOf(t), (perPhase24.get(phaseOf(t)) ?? 0) + 1);
    for (const [i, n] of perPhase24) {
      const c = phases[i]!.cmd24;
      c.total += n;
      c.devices++;
      c.max = Math.max(c.max, n);
    }
    for (const c of d.connects) if (c.socketNo > 1) phases[phaseOf(c.at)]!.reconnects++;
    for (const [i, s] of spans.entries()) {
      if (s.upAt === undefined) continue;
      const first = d.frames.find((f) => f.live && f.at >= s.upAt!);
      if (first) phases[i]!.firstLiveMs = Math.min(phases[i]!.firstLiveMs ?? Infinity, first.at - s.upAt);
    }
    r.unanswered += d.unanswered.length;
    r.ackConflicts += d.ackConflicts.length;
    r.syncFailures += d.syncFailures.length;
    r.signInFailures += d.signInFailures.length;
    r.stuckSyncs += d.stuckSyncs;
    r.retries += d.retries;
    r.timeouts += d.timeouts;
  }

  for (const [convId, bySeq] of truth.messages) {
    r.totals.messagesStored += bySeq.size;
    const taken = new Set<number>(truth.eventSeqs?.get(convId) ?? []);
    for (const m of bySeq.values()) {
      taken.add(m.seq);
      if (m.withdrawSeq) taken.add(m.withdrawSeq);
    }
    let max = 0;
    for (const s of taken) max = Math.max(max, s);
    for (let s = 1; s <= max; s++) if (!taken.has(s)) r.dbGaps++;
    for (const m of bySeq.values()) {
      const w = windowOf(m.createdAt);
      if (w < 0) continue;
      const acker = ackerOf.get(m.id);
      const recipients = (truth.membersOf.get(convId) ?? [])
        .filter((u) => m.seq >= (truth.convsOf.get(u)?.get(convId) ?? Infinity))
        .flatMap((u) => devicesOf.get(u) ?? [])
        .filter((d) => d.name !== acker);
      phases[w]!.messages++;
      phases[w]!.expected += recipients.length;
    }
  }
  for (const p of phases) p.liveShare = p.deliveries > 0 ? p.live / p.deliveries : p.expected > 0 ? 0 : 1;
  r.duplicated = r.dupFrameFrame + r.dupFrameAck;
  r.readinessProblems = faults.flatMap((f) => (f.readinessProblems ?? []).map((p) => `${f.name}: ${p}`));
  r.refusedOther = [...refusedOther].map(([body, count]) => ({ body, count })).sort((a, b) => b.count - a.count);
  return r;
}
