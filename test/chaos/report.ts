import type { Report } from './verify.js';

/** The live share every post-fault window must reach. */
export const MIN_LIVE_SHARE = 0.99;

/**
 * What failed, one line each (empty = the run proves the claim). The brief's checks: nothing lost,
 * duplicated, out of order, acked-but-missing or refused with 1500, and ≥ 99 % live delivery in
 * every post-fault window. Also checked, because each is a defect whichever side it is on: sends
 * never answered, frames the database does not know, seq gaps in the database, two different acks
 * for one ClientMsgId, node processes that died on their own, syncs never answered. And for each
 * kill: every burst message reached each device signed in on another node at the SIGKILL live
 * within cluster.lease_seconds + 2 s (+ 1 s slack) of it, and the burst left something stored for
 * the death repair to deliver (else the run did not test it).
 */
export function violations(r: Report): string[] {
  const out: string[] = [];
  const zero = (name: string, n: number) => void (n !== 0 && out.push(`${name}: ${n}`));
  zero('lost', r.lost);
  zero('duplicated', r.duplicated);
  zero('outOfOrder', r.outOfOrder);
  zero('ackedMissing', r.ackedMissing);
  zero('refused1500', r.refused1500);
  zero('unanswered', r.unanswered);
  zero('unknownFrames', r.unknownFrames);
  zero('dbGaps', r.dbGaps);
  zero('ackConflicts', r.ackConflicts);
  zero('unexpectedExits', r.unexpectedExits);
  zero('stuckSyncs', r.stuckSyncs);
  const b = r.burst;
  zero('burstMissing', b.missing);
  zero('burstNotLive', b.notLive);
  zero('burstLate', b.late);
  zero('burstOutside', b.outside);
  zero('burstNothingStoredBeforeKill', b.emptyKills);
  out.push(...r.readinessProblems);
  for (const p of r.phases.slice(1)) {
    if (p.liveShare < MIN_LIVE_SHARE) out.push(`${p.name}: live share ${(p.liveShare * 100).toFixed(2)} % < ${MIN_LIVE_SHARE * 100} % (${p.live}/${p.deliveries})`);
  }
  return out;
}

function burstLine(r: Report): string {
  const b = r.burst;
  if (b.kills === 0) return 'no kill';
  return `${b.messages} messages in burst-only conversations over ${b.kills} kill(s), ${b.storedBeforeKill} stored before the SIGKILL; ` +
    `${b.frames} frames to online devices on other nodes, ${b.afterKill} of them (of pre-kill messages) after the SIGKILL; ` +
    `max delay ${b.maxDelayMs ?? '-'} ms (limit ${b.limitMs}) | missing ${b.missing} | not live ${b.notLive} | late ${b.late} | outside ${b.outside} | ` +
    `kills with nothing stored before the SIGKILL ${b.emptyKills}`;
}

const pad = (v: string | number, n: number) => String(v).padStart(n);

/** A compact, fixed-width report (console.log it). */
export function formatReport(r: Report, title = 'chaos'): string {
  const t = r.totals;
  const lines = [
    `${title}: 3 nodes, ${t.users} users, ${t.devices} devices, ${t.faults} faults, ${t.trafficSeconds.toFixed(0)} s of traffic; ` +
      `${t.messagesStored} messages stored, ${t.sent} sends (${t.acks} acked), ${t.framesDelivered} stream frames delivered`,
    `checks: lost ${r.lost} | duplicated ${r.duplicated} (frame+frame ${r.dupFrameFrame}, ${r.dupFrameFrameSync} of them by sync; ` +
      `frame+ack ${r.dupFrameAck}, ${r.dupFrameAckAfterLoss} of them after the ack was lost with its socket, ` +
      `${r.dupFrameAckBySyncBeforeResendAck} of those synced before the resend's ack) | ` +
      `outOfOrder ${r.outOfOrder} (live ${r.outOfOrderLive}, sync ${r.outOfOrderSync}; holes filled late ${r.lateFills}) | ackedMissing ${r.ackedMissing} | refused1500 ${r.refused1500}`,
    `also: unanswered ${r.unanswered} | unknownFrames ${r.unknownFrames} | dbGaps ${r.dbGaps} | ackConflicts ${r.ackConflicts} | ` +
      `node crashes ${r.unexpectedExits} | stuckSyncs ${r.stuckSyncs} | syncFailures ${r.syncFailures} | signInFailures ${r.signInFailures} | ` +
      `retryable answers ${r.retries} | 10 s timeouts ${r.timeouts} | answered after socket loss ${r.answeredAfterSocketLoss}`,
    `burst: ${burstLine(r)}`,
    `refusedOther: ${r.refusedOther.length === 0 ? 'none' : r.refusedOther.map((x) => `${x.count}× "${x.body}"`).join(', ')}`,
    `${'phase'.padEnd(10)} ${pad('down s', 6)} ${pad('win s', 5)} ${pad('msgs', 5)} ${pad('expect', 6)} ${pad('got', 6)} ${pad('live %', 7)} ` +
      `${pad('1st live ms', 11)} ${pad('cmd24 n/dev/max', 15)} ${pad('reconn', 6)} ${pad('lost', 5)} ${pad('dup', 4)} ${pad('ooo', 4)} ${pad('r1500', 5)} ${pad('rOther', 6)}`,
  ];
  for (const p of r.phases) {
    lines.push(
      `${p.name.padEnd(10)} ${pad((p.downMs / 1000).toFixed(1), 6)} ${pad(((p.to - p.from) / 1000).toFixed(1), 5)} ${pad(p.messages, 5)} ${pad(p.expected, 6)} ` +
        `${pad(p.deliveries, 6)} ${pad((p.liveShare * 100).toFixed(2), 7)} ${pad(p.firstLiveMs ?? '-', 11)} ` +
        `${pad(`${p.cmd24.total}/${p.cmd24.devices}/${p.cmd24.max}`, 15)} ${pad(p.reconnects, 6)} ${pad(p.lost, 5)} ${pad(p.duplicated, 4)} ` +
        `${pad(p.outOfOrder, 4)} ${pad(p.refused1500, 5)} ${pad(p.refusedOther, 6)}`,
    );
  }
  lines.push('(lost/dup/ooo by message creation time over the phase, fault start to next fault start; live % over the window fault end + 2 s to next fault start)');
  for (const [name, list] of Object.entries(r.samples)) if (list.length > 0) lines.push(`sample ${name}:\n  ${list.join('\n  ')}`);
  if (r.burst.samples.length > 0) lines.push(`sample burst:\n  ${r.burst.samples.join('\n  ')}`);
  return lines.join('\n');
}
