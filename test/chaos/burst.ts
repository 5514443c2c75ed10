import type { DeviceRecord, FrameRecord } from './records.js';
import type { Truth } from './truth.js';

/**
 * What a kill fault's burst wrote to: conversations no other message ever goes to (population.ts),
 * the devices signed in on the other nodes at the SIGKILL, and how soon after it each of them must
 * have every burst message live (cluster.lease_seconds + 2 s, + 1 s of slack).
 */
export interface BurstSpec {
  /** User ids of the burst-only friendships. */
  pairs: Array<[number, number]>;
  /** Names of the devices signed in on another node than the killed one at the SIGKILL. */
  online: string[];
  limitMs: number;
}

export interface BurstReport {
  /** Kill faults with a burst. */
  kills: number;
  /** Messages stored in the burst-only conversations (all of them are burst messages)… */
  messages: number;
  /** …of which stored before the SIGKILL (the rest: sends n2 never stored, resent elsewhere). */
  storedBeforeKill: number;
  /** (message, online recipient device) pairs checked. */
  frames: number;
  /** …of them first received after the SIGKILL for a message stored before it (the death repair's work). */
  afterKill: number;
  missing: number;
  notLive: number;
  late: number;
  /** Worst first-frame delay from the SIGKILL (or from the message's storing, if later); null: none checked. */
  maxDelayMs: number | null;
  limitMs: number;
  /** Messages in those conversations stored before any burst (the steady traffic must never write there). */
  outside: number;
  /** Kills whose burst left nothing stored before the SIGKILL (the run did not test the repair). */
  emptyKills: number;
  samples: string[];
}

interface KillWithBurst { name: string; startAt: number; downAt: number; burst?: BurstSpec }

/**
 * Every frame of a burst message must reach each online recipient device (signed in on another
 * node at the SIGKILL, a member of the conversation, not the device that sent it) live, within
 * `limitMs` of the SIGKILL, or of the message's storing when it was stored after it (a resend). A
 * message belongs to the last kill that began before it was stored.
 */
export function checkBursts(devices: DeviceRecord[], truth: Truth, faults: KillWithBurst[]): BurstReport {
  const r: BurstReport = {
    kills: 0, messages: 0, storedBeforeKill: 0, frames: 0, afterKill: 0, missing: 0, notLive: 0, late: 0, outside: 0, maxDelayMs: null, limitMs: 0, emptyKills: 0, samples: [],
  };
  const kills = faults.filter((f) => f.burst !== undefined).sort((a, b) => a.startAt - b.startAt);
  if (kills.length === 0) return r;
  r.kills = kills.length;
  const byName = new Map(devices.map((d) => [d.name, d]));
  const ackerOf = new Map<number, string>();
  for (const d of devices) for (const a of d.acks) ackerOf.set(a.id, d.name);
  const firstFrames = new Map<DeviceRecord, Map<string, FrameRecord>>();
  const firstFrame = (d: DeviceRecord, convId: number, seq: number) => {
    let m = firstFrames.get(d);
    if (!m) {
      m = new Map();
      for (const f of d.frames) if (!m.has(`${f.convId}:${f.seq}`)) m.set(`${f.convId}:${f.seq}`, f);
      firstFrames.set(d, m);
    }
    return m.get(`${convId}:${seq}`);
  };
  const sample = (text: string) => void (r.samples.length < 10 && r.samples.push(text));
  const stored = new Map<number, number>(kills.map((_, i) => [i, 0]));
  const keys = new Set<string>();
  for (const k of kills) {
    for (const [a, b] of k.burst!.pairs) keys.add(`f${Math.min(a, b)}-${Math.max(a, b)}`);
  }
  for (const key of keys) {
    const convId = truth.convOf?.get(key);
    if (convId === undefined) continue;
    for (const m of truth.messages.get(convId)?.values() ?? []) {
      r.messages++;
      let k = -1;
      for (let i = 0; i < kills.length; i++) if (kills[i]!.startAt <= m.createdAt) k = i;
      const kill = kills[k];
      if (!kill) {
        r.outside++;
        sample(`conv ${convId} seq ${m.seq}: stored before any burst (${new Date(m.createdAt).toISOString().slice(11, 23)})`);
        continue;
      }
      const spec = kill.burst!;
      const before = m.createdAt <= kill.downAt;
      if (before) {
        r.storedBeforeKill++;
        stored.set(k, stored.get(k)! + 1);
      }
      const from = Math.max(kill.downAt, m.createdAt);
      r.limitMs = Math.max(r.limitMs, spec.limitMs);
      for (const name of spec.online) {
        const d = byName.get(name);
        const start = d && truth.convsOf.get(d.userId)?.get(convId);
        if (!d || start === undefined || m.seq < start || ackerOf.get(m.id) === name) continue;
        r.frames++;
        const f = firstFrame(d, convId, m.seq);
        const what = `${kill.name} ${name} conv ${convId} seq ${m.seq} (stored ${Math.abs(m.createdAt - kill.downAt)} ms ${before ? 'before' : 'after'} the SIGKILL)`;
        if (!f) {
          r.missing++;
          sample(`${what}: never received`);
          continue;
        }
        const delay = f.at - from;
        r.maxDelayMs = Math.max(r.maxDelayMs ?? -Infinity, delay);
        if (before && f.at > kill.downAt) r.afterKill++;
        if (!f.live) {
          r.notLive++;
          sample(`${what}: first copy by sync, ${delay} ms after`);
        } else if (delay > spec.limitMs) {
          r.late++;
          sample(`${what}: live ${delay} ms after (> ${spec.limitMs})`);
        }
      }
    }
  }
  r.emptyKills = [...stored.values()].filter((n) => n === 0).length;
  return r;
}
