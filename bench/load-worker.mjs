import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'undici';

/**
 * The load client, on its own thread (its own event loop and core): `concurrency` keep-alive
 * connections each send one request after another for `seconds`, bodies drawn in turn from
 * `bodies`, tokens from `tokens`. Posts back every latency in ms and the count of failures.
 */
// Plain JavaScript: Node 20 does not apply tsx's loader inside worker threads.
/** @type {{origin: string, path: string, bodies: string[], tokens: string[], concurrency: number, seconds: number}} */
const job = workerData;
const pool = new Pool(job.origin, { connections: job.concurrency, pipelining: 1 });
/** @type {number[]} */
const latencies = [];
let failures = 0;
let next = 0;
const deadline = performance.now() + job.seconds * 1000;

async function client(slot) {
  while (performance.now() < deadline) {
    const i = next++;
    const started = performance.now();
    try {
      const response = await pool.request({
        method: 'POST',
        path: job.path,
        headers: { 'content-type': 'application/json', 'login-token': job.tokens[(slot + i) % job.tokens.length] },
        body: job.bodies[i % job.bodies.length],
      });
      const text = await response.body.text();
      if (response.statusCode !== 200 || !text.startsWith('{"code":0')) failures++;
    } catch {
      failures++;
    }
    latencies.push(performance.now() - started);
  }
}

await Promise.all(Array.from({ length: job.concurrency }, (_, slot) => client(slot)));
await pool.close();
parentPort.postMessage({ latencies, failures });
