import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findBinary, onFreePorts, startProcess, stopProcess, waitUntil } from './setup/processes.js';
import { redisPing } from './setup/services.js';

/**
 * The test rig starts its services on ports that were free a moment before; on a busy machine
 * another process can take one in between. A service that cannot bind is reported at once, and
 * its start is tried again on fresh ports.
 */
describe('starting a service on a free port', () => {
  const held: Server[] = [];
  afterEach(() => {
    for (const server of held.splice(0)) server.close();
  });

  it('a redis-server whose port is taken is reported as exited at once, with its reason; on fresh ports it starts', async () => {
    const binary = findBinary('redis-server');
    expect(binary, 'redis-server is installed by .ci/run').toBeDefined();
    const taken = createServer();
    held.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as { port: number }).port;
    let attempts = 0;
    const started = await onFreePorts(1, async ([fresh]) => {
      // The first attempt gets the port another process holds.
      const port = ++attempts === 1 ? takenPort : fresh!;
      const server = startProcess('redis-server', binary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']);
      try {
        await waitUntil('Redis', () => redisPing(port), 20_000, server.output, server.child);
      } catch (err) {
        expect(String(err)).toMatch(/Redis exited before it was ready[\s\S]*already in use/i);
        throw err;
      }
      return { port, child: server.child };
    });
    try {
      expect(attempts).toBe(2);
      expect(started.port).not.toBe(takenPort);
      expect(await redisPing(started.port)).toBe(true);
    } finally {
      await stopProcess(started.child);
    }
  });

  it('other failures are not tried again', async () => {
    let attempts = 0;
    await expect(onFreePorts(2, async () => {
      attempts++;
      throw new Error('permission denied');
    })).rejects.toThrow('permission denied');
    expect(attempts).toBe(1);
  });
});
