import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Attempts at starting a service whose port another process took after `freePort` said it was free. */
const PORT_ATTEMPTS = 3;

/**
 * Runs `start` on `count` ports that were free a moment ago, and again on fresh ones (up to 3
 * times) when it fails because another process bound one of them in between (`freePort` can only
 * say a port was free; on a busy machine an outgoing connection or another suite's server may take
 * it before the service binds it).
 */
export async function onFreePorts<T>(count: number, start: (ports: number[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    try {
      return await start(ports);
    } catch (err) {
      if (attempt >= PORT_ATTEMPTS || !/address already in use|EADDRINUSE|Can't start server: Bind/i.test(String(err))) throw err;
    }
  }
}

/** Absolute path of a binary on PATH or in the sbin directories Debian uses, or undefined. */
export function findBinary(name: string): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/bin', '/usr/local/sbin']) {
    const result = spawnSync('test', ['-x', `${dir}/${name}`]);
    if (result.status === 0) return `${dir}/${name}`;
  }
  const which = spawnSync('which', [name], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** Starts a long-running service; its output is kept for error messages. */
export function startProcess(name: string, binary: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.on('error', (err) => {
    output += `\n${name}: ${err.message}`;
  });
  return { child, output: () => output };
}

/**
 * Polls `check` until it succeeds or `timeoutMs` passes; then throws with `describe()`. Given the
 * service's `child`, throws as soon as it has exited (a service that could not start, e.g. its
 * port taken, is not waited for).
 */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, describe: () => string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`${what} exited before it was ready (${child.exitCode ?? child.signalCode}):\n${describe()}`);
    try {
      if (await check()) return;
    } catch {
      // not ready yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms:\n${describe()}`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
