import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WrkJob {
  origin: string;
  path: string;
  /** JSON bodies, one per request in turn (no newlines). */
  bodies: string[];
  tokens: string[];
  concurrency: number;
  seconds: number;
}

export interface WrkResult {
  requests: number;
  failures: number;
  /** Latency percentiles, ms. */
  p50: number;
  p95: number;
  p99: number;
  /** CPU time wrk used, all its threads. */
  cpuSeconds: number;
}

const SCRIPT = fileURLToPath(new URL('./wrk-post.lua', import.meta.url));

/**
 * Drives `concurrency` keep-alive connections with wrk (one thread: one core's worth is far more
 * than the server takes) for `seconds`, asynchronously, so a server in this process keeps
 * running. Needs the `wrk` command (Debian: `apt-get install wrk`).
 */
export async function runWrk(job: WrkJob): Promise<WrkResult> {
  const dir = mkdtempSync(join(tmpdir(), 'weim-wrk-'));
  try {
    const bodies = join(dir, 'bodies.txt');
    const tokens = join(dir, 'tokens.txt');
    writeFileSync(bodies, job.bodies.join('\n') + '\n');
    writeFileSync(tokens, job.tokens.join('\n') + '\n');
    const args = ['-t1', `-c${job.concurrency}`, `-d${job.seconds}s`, '--timeout', '10s', '-s', SCRIPT, job.origin, '--', job.path, bodies, tokens];
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.once('error', (err) => reject(new Error(`cannot run wrk (apt-get install wrk): ${err.message}`)));
      child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk exited with ${code}: ${text}`))));
    });
    const line = output.split('\n').find((l) => l.startsWith('WRK '));
    if (!line) throw new Error(`wrk printed no result: ${output}`);
    return JSON.parse(line.slice(4)) as WrkResult;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
