import { parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';

/**
 * The load client, on its own thread (its own event loop and core): autocannon keeps `concurrency`
 * keep-alive connections, each sending one request after another for `seconds`, bodies drawn in
 * turn from `bodies`, tokens from `tokens`. Posts back every latency in ms and the count of
 * failures (an answer other than 200 with code 0).
 */
// Plain JavaScript: Node 20 does not apply tsx's loader inside worker threads.
/** @type {{origin: string, path: string, bodies: string[], tokens: string[], concurrency: number, seconds: number}} */
const job = workerData;
/** @type {number[]} */
const latencies = [];
let failures = 0;
let next = 0;

const instance = autocannon({
  url: job.origin,
  connections: job.concurrency,
  pipelining: 1,
  duration: job.seconds,
  requests: [
    {
      method: 'POST',
      path: job.path,
      setupRequest: (request) => {
        const i = next++;
        return {
          ...request,
          headers: { 'content-type': 'application/json', 'login-token': job.tokens[i % job.tokens.length] },
          body: job.bodies[i % job.bodies.length],
        };
      },
      onResponse: (status, body) => {
        if (status !== 200 || !body.startsWith('{"code":0')) failures++;
      },
    },
  ],
});
// Every response's own time (autocannon's summary has no p95).
instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
const result = await instance;
failures += result.errors + result.timeouts;
parentPort.postMessage({ latencies, failures });
