import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool } from 'mysql2';
import { openBenchDatabase } from './database.js';

/**
 * What one hop to another process costs this process's CPU on this host (not a test): the floor
 * under every figure of the gateway, cluster and sync benches, where each database statement, Redis
 * command or socket write is such a hop.
 *
 *   npx tsx bench/round-trip.ts [--count 4000]
 *
 * 1. `select 1` through a mysql2 pool to a private mariadbd: one at a time, and 8 at a time.
 * 2. A 200-byte write to a socket read by a child process: back to back (the next write in the
 *    next turn of the event loop), and with the loop idle 1 ms between writes (a timer); and the
 *    idle 1 ms alone, without a write (what going idle and waking costs).
 * Each: CPU (user + system) of this process divided by the count, three rounds.
 */
const { values: args } = parseArgs({ options: { count: { type: 'string', default: '4000' }, child: { type: 'string' } } });
const count = Math.min(100_000, Math.max(100, Number(args.count)));

if (args.child) {
  // The child: a sink for part 2.
  const server = createServer((s) => s.on('data', () => {}));
  server.listen(0, '127.0.0.1', () => process.send!((server.address() as { port: number }).port));
} else {
  await main();
}

async function main(): Promise<void> {
  const log = (line: string) => process.stdout.write(`${line}\n`);
  log(`round-trip bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}, ${count} a round`);
  const cpuPer = async (run: () => Promise<void>) => {
    const before = process.cpuUsage();
    await run();
    const used = process.cpuUsage(before);
    return `${((used.user + used.system) / count).toFixed(1)} µs (system ${(used.system / count).toFixed(1)})`;
  };

  const dataDir = mkdtempSync(join(tmpdir(), 'weim-round-trip-'));
  const bench = await openBenchDatabase('mysql', dataDir, log);
  const pool = createPool({ uri: bench.url, connectionLimit: 8 });
  const select = () => new Promise<void>((resolve, reject) => pool.query('select 1', (err) => (err ? reject(err) : resolve())));
  await select();
  for (let round = 1; round <= 3; round++) {
    const one = await cpuPer(async () => {
      for (let i = 0; i < count; i++) await select();
    });
    const eight = await cpuPer(async () => {
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next++ < count) await select();
      }));
    });
    log(`  round ${round}: select 1 one at a time ${one}; 8 at a time ${eight}`);
  }
  await new Promise<void>((resolve) => pool.end(() => resolve()));
  await bench.close();
  rmSync(dataDir, { recursive: true, force: true });

  const child = fork(new URL(import.meta.url).pathname, ['--child', '1'], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((resolve) => child.once('message', (p) => resolve(p as number)));
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const chunk = Buffer.alloc(200, 97);
  for (let round = 1; round <= 3; round++) {
    const busy = await cpuPer(async () => {
      for (let i = 0; i < count; i++) {
        socket.write(chunk);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    const idle = await cpuPer(async () => {
      for (let i = 0; i < count; i++) {
        socket.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
    const nothing = await cpuPer(async () => {
      for (let i = 0; i < count; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    });
    log(`  round ${round}: a write to another process back to back ${busy}; with the loop idle 1 ms between ${idle}; the idle 1 ms alone ${nothing}`);
  }
  socket.destroy();
  child.kill();
}
