import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cpuSeconds, cpuTicks, stealPercent } from './targets.js';

/** What a phase of the bench cost: CPU seconds of each part, and what the machine did besides. */
export interface PhaseCost {
  seconds: number;
  /** CPU seconds of each part during the phase. */
  cpu: Record<string, number>;
  /** The whole machine (all cores) busy, %. */
  busyPercent: number;
  /** Busy cores not used by the parts measured: another user of a shared host. */
  otherCores: number;
  steal: number;
}

/**
 * Measures phases of a run from /proc: the CPU time of named groups of processes (the bench's
 * own process as `bench`), and the machine's busy ticks, so a phase says how much of the machine
 * someone else used meanwhile.
 */
export class Meter {
  constructor(private readonly parts: Record<string, number[]>) {}

  start(): { at: number; cpu: Record<string, number>; busy: { busy: number; total: number }; ticks: ReturnType<typeof cpuTicks> } {
    return { at: performance.now(), cpu: this.sample(), busy: busyTicks(), ticks: cpuTicks() };
  }

  since(start: ReturnType<Meter['start']>): PhaseCost {
    const seconds = (performance.now() - start.at) / 1000;
    const now = this.sample();
    const cpu = Object.fromEntries(Object.entries(now).map(([k, v]) => [k, v - start.cpu[k]!]));
    const busy = busyTicks();
    const busyPercent = busy.total > start.busy.total ? (100 * (busy.busy - start.busy.busy)) / (busy.total - start.busy.total) : 0;
    const ours = Object.values(cpu).reduce((a, b) => a + b, 0);
    return { seconds, cpu, busyPercent, otherCores: (busyPercent / 100) * cpus().length - ours / seconds, steal: stealPercent(start.ticks) };
  }

  private sample(): Record<string, number> {
    const own = process.cpuUsage();
    const cpu: Record<string, number> = {};
    for (const [name, pids] of Object.entries(this.parts)) cpu[name] = pids.reduce((s, pid) => s + cpuSeconds(pid), 0);
    cpu.bench = (own.user + own.system) / 1e6;
    return cpu;
  }
}

/** Busy and total clock ticks of the whole machine (/proc/stat: all but idle and iowait is busy). */
function busyTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** The node processes whose parent is `pid` (cluster workers; tsx's esbuild helper is not one). */
export function nodeChildren(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid && readFileSync(`/proc/${name}/comm`, 'utf8').trim() === 'node') children.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return children.sort((a, b) => a - b);
}

/** "soft/hard" open-files limit of a process (/proc/<pid>/limits). */
export function openFilesLimit(pid: number): string {
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
  return match ? `${match[1]}/${match[2]}` : '?';
}

/** The lines of `lscpu` that name the host. */
export function lscpu(): string {
  try {
    const text = execFileSync('lscpu', { encoding: 'utf8' });
    const keep = ['Model name', 'CPU(s)', 'Thread(s) per core', 'Hypervisor vendor', 'L2 cache', 'L3 cache'];
    return text.split('\n').filter((line) => keep.some((k) => line.startsWith(`${k}:`))).map((line) => line.replace(/\s+/g, ' ')).join('; ');
  } catch {
    return '(lscpu not available)';
  }
}

export function killIfAlive(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
