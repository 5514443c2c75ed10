/**
 * Upload benchmark (not a test): `npx tsx bench/uploads.ts`.
 *
 * Starts a weim node (SQLite, local store) in a child process on loopback and measures
 *   1. 1 MB picture uploads per second (8 concurrent clients, at most 15 s or 3000 uploads);
 *   2. the server's RSS (VmRSS from /proc/<pid>/status) while 20 clients upload 50 MB videos at
 *      once (streamed, generated on the fly), which must stay bounded.
 * Everything is loopback only and bounded in count and time; the node and its data are removed.
 */
import { cpus } from 'node:os';
import { startChildNode } from '../test/helpers/child-node.js';
import { postMultipart, registerUser } from '../test/helpers/http.js';
import * as samples from '../test/helpers/media-samples.js';
import { streamUpload } from '../test/helpers/upload-stream.js';

const MB = 1024 * 1024;
const SMALL = { clients: 8, maxSeconds: 15, maxUploads: 3000 };
const LARGE = { clients: 20, bytes: 50 * MB };

const mb = (bytes: number) => (bytes / MB).toFixed(1);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

async function smallUploads(api: string, token: string) {
  const picture = samples.png(16, 16, MB - 1024);
  console.log(`\n[1] ${mb(picture.length)} MB PNG uploads, ${SMALL.clients} clients, ≤ ${SMALL.maxSeconds} s or ${SMALL.maxUploads} uploads`);
  const latencies: number[] = [];
  let failures = 0;
  const started = performance.now();
  const deadline = started + SMALL.maxSeconds * 1000;
  const progress = setInterval(() => console.log(`    ${latencies.length} uploads, ${(latencies.length / ((performance.now() - started) / 1000)).toFixed(0)}/s`), 3000);
  await Promise.all(
    Array.from({ length: SMALL.clients }, async () => {
      while (performance.now() < deadline && latencies.length + failures < SMALL.maxUploads) {
        const t0 = performance.now();
        const res = await postMultipart(api, '/im/chat/upload', [['type', '1'], ['file', { data: picture, filename: 'p.png' }]], token);
        if (res.code === 0) latencies.push(performance.now() - t0);
        else failures += 1;
      }
    }),
  );
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const rate = latencies.length / seconds;
  console.log(
    `    => ${latencies.length} uploads in ${seconds.toFixed(1)} s: ${rate.toFixed(0)} uploads/s (${(rate * picture.length / MB).toFixed(0)} MB/s), ` +
      `p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms, ${failures} failed`,
  );
}

async function largeUploads(api: string, token: string, rss: () => number) {
  console.log(`\n[2] ${LARGE.clients} clients upload ${mb(LARGE.bytes)} MB videos at once (chunked, streamed)`);
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
  const progress = setInterval(() => console.log(`    server RSS ${mb(rss())} MB (peak ${mb(peak)} MB)`), 2000);
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: LARGE.clients }, () =>
      streamUpload(`${api}/im/chat/upload`, { token, fields: { type: '3' }, head: samples.isoMedia('isom'), fileBytes: LARGE.bytes }),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  clearInterval(progress);
  const ok = results.filter((r) => r.status === 200).length;
  console.log(
    `    => ${ok}/${LARGE.clients} stored in ${seconds.toFixed(1)} s (${((ok * LARGE.bytes) / MB / seconds).toFixed(0)} MB/s); ` +
      `server RSS baseline ${mb(baseline)} MB, peak ${mb(peak)} MB (+${mb(peak - baseline)} MB for ${mb(LARGE.clients * LARGE.bytes)} MB in flight), after ${mb(rss())} MB`,
  );
}

const node = await startChildNode({
  WEIM_LOG_LEVEL: 'warn',
  WEIM_UPLOADS_MAX_PER_USER: '1000000',
  WEIM_AUTH_REGISTER_MAX_PER_IP: '1000',
});
try {
  console.log(`weim pid ${node.pid} on ${node.url} (SQLite, local store in ${node.dataDir}); ${cpus().length} cores, Node ${process.version}`);
  const { token } = await registerUser(node.api);
  console.log(`server RSS idle: ${mb(node.rss())} MB`);
  await smallUploads(node.api, token);
  console.log(`server RSS after [1]: ${mb(node.rss())} MB`);
  await largeUploads(node.api, token, () => node.rss());
} finally {
  await node.stop();
}
