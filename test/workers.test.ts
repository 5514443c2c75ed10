import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createConnection } from 'mysql2/promise';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { clusterEnv, clusterRigAvailable } from './helpers/cluster.js';
import { makeFriends } from './helpers/http.js';
import { signedInSocket, type TestSocket } from './helpers/ws.js';
import { createMysqlDatabase } from './setup/mariadb.js';
import { freePort } from './setup/processes.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** JSON log lines of a process, as they come. */
function logLines(child: ChildProcess) {
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  child.stdout!.on('data', (c: Buffer) => {
    const parts = (partial + c.toString()).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const waitFor = async (match: (l: Record<string, unknown>) => boolean, count = 1, timeoutMs = 30_000) => {
    const deadline = Date.now() + timeoutMs;
    while (lines.filter(match).length < count) {
      if (Date.now() > deadline) throw new Error(`log line not seen; got:\n${lines.map((l) => JSON.stringify(l)).join('\n').slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return lines.filter(match);
  };
  return { lines, waitFor };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe.skipIf(!clusterRigAvailable() && !process.env.CI)('server.workers: worker processes sharing one port', () => {
  let supervisor: ChildProcess | undefined;
  const sockets: TestSocket[] = [];
  let dropDatabase = async () => {};
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    if (supervisor && supervisor.exitCode === null) supervisor.kill('SIGKILL');
    await dropDatabase();
  });

  it('migrates once, serves from every worker, restarts a killed worker, and stops them all on SIGTERM', async () => {
    const adminUrl = inject('mysqlUrl')!;
    const name = `weim_w_${randomBytes(5).toString('hex')}`;
    const dbUrl = await createMysqlDatabase(adminUrl, name);
    dropDatabase = async () => {
      const c = await createConnection({ uri: adminUrl });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    };
    const port = await freePort();
    supervisor = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        WEIM_DATA_DIR: mkdtempSync(join(tmpdir(), 'weim-w-')),
        PORT: String(port),
        WEIM_SERVER_HOST: '127.0.0.1',
        WEIM_SERVER_WORKERS: '2',
        WEIM_SERVER_DRAIN_DELAY_MS: '0',
        WEIM_AUTH_BCRYPT_COST: '4',
        WEIM_DB_DIALECT: 'mysql',
        WEIM_DB_URL: dbUrl,
        WEIM_DB_MIGRATE_ON_START: 'true',
        ...clusterEnv(`w${randomBytes(3).toString('hex')}`, 'box'),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const log = logLines(supervisor);
    await log.waitFor((l) => l.msg === 'weim workers listening');
    const started = await log.waitFor((l) => l.msg === 'worker started', 2);
    const pids = started.map((l) => l.pid as number);
    expect(new Set(pids).size).toBe(2);
    // The supervisor ran the migrations, once; each worker is a node of its own.
    expect(log.lines.filter((l) => typeof l.msg === 'string' && (l.msg as string).startsWith('migrations:'))).toHaveLength(1);
    const nodeIds = (await log.waitFor((l) => l.msg === 'weim listening', 2)).map((l) => l.nodeId);
    expect(nodeIds.sort()).toEqual(['box-w1-g1', 'box-w2-g2']);

    const url = `http://127.0.0.1:${port}`;
    const api = `${url}/api/v1`;
    // Connections go to the workers in turn: friends on different workers still reach each other.
    const exchange = async () => {
      const { a, b } = await makeFriends(api);
      const sa = await signedInSocket(url, a.token);
      const sb = await signedInSocket(url, b.token);
      sockets.push(sa, sb);
      sa.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'across', ClientMsgId: 'x1' });
      const got = await sb.next((f) => f.Cmd === 6, 10_000);
      expect(got.Body).toBe('across');
    };
    for (let i = 0; i < 3; i++) await exchange();

    process.kill(pids[0]!, 'SIGKILL');
    const restarted = await log.waitFor((l) => l.msg === 'worker started', 3);
    expect(log.lines.some((l) => l.msg === 'worker died: restarting it' && l.pid === pids[0])).toBe(true);
    expect(restarted[2]).toMatchObject({ worker: 1 });
    expect(restarted[2]!.pid).not.toBe(pids[0]);
    await log.waitFor((l) => l.msg === 'weim listening', 3);
    for (let i = 0; i < 3; i++) await exchange();

    const exited = new Promise<number | null>((resolve) => supervisor!.once('exit', resolve));
    supervisor.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of [pids[1]!, restarted[2]!.pid as number]) expect(alive(pid)).toBe(false);
  });
});
