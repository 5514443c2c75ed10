import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { createNode, type WeimNode } from '../src/node.js';
import { makeFriends, post } from './helpers/http.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** docs/grafana/weim-dashboard.json queries only metrics a node exports (process metrics on, as `npm start` runs it). */
describe('the Grafana dashboard', () => {
  let node: WeimNode;
  let url: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'weim-graf-'));
  beforeAll(async () => {
    const config = loadConfig({ WEIM_DATA_DIR: dataDir, WEIM_LOG_LEVEL: 'silent', WEIM_SERVER_DRAIN_DELAY_MS: '0', WEIM_AUTH_BCRYPT_COST: '4' });
    node = await createNode(config, pino({ level: 'silent' }), { processMetrics: true });
    url = await node.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await node?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every metric a panel queries is exported by /metrics', async () => {
    // Traffic first, so histograms and counters with labels have series.
    const { a, b } = await makeFriends(`${url}/api/v1`);
    await post(`${url}/api/v1`, '/im/chat/send/user', { to_uid: b.user.id, type: 0, body: 'hi' }, { token: a.token });
    const exported = new Set(
      (await (await fetch(`${url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!),
    );
    const dashboard = JSON.parse(readFileSync('docs/grafana/weim-dashboard.json', 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) for (const name of expr.match(/\bweim_[a-z0-9_]+/g) ?? []) queried.add(name.replace(/_(bucket|sum|count)$/, ''));
    }
    expect(queried.size).toBeGreaterThan(8);
    const missing = [...queried].filter((name) => !exported.has(name));
    expect(missing).toEqual([]);
  });
});
