import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { bodyReader } from '../src/http/body-reader.js';
import { sendOk } from '../src/http/envelope.js';

/**
 * The HTTP stack's own ceiling on this machine, for a benchmark to report next to its routes: a
 * bare `node:http` server, and an Express app with weim's body reader and envelope and nothing
 * else (no auth, no database), both answering a page of 20 users as the search route does.
 */
export async function startCeilingServers(): Promise<{ bare: string; express: string; close(): Promise<void> }> {
  const page = Array.from({ length: 20 }, (_, i) => ({ id: 1000 + i, username: `user_${i}_abcdef`, nickname: `昵称${i} Name`, avatar: '/static/avatar.png', sex: i % 3 }));
  const body = JSON.stringify({ code: 0, msg: 'ok', data: page });
  const bare = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.end(body);
    });
  });
  const app = express();
  app.set('etag', false);
  app.use(bodyReader({ limitBytes: 1 << 20, parameterLimit: 100 }));
  app.post('/ceiling', (_req, res) => sendOk(res, page));
  const framework = createServer(app);
  const listen = (server: Server) =>
    new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  const [bareUrl, expressUrl] = [await listen(bare), await listen(framework)];
  return {
    bare: bareUrl,
    express: expressUrl,
    close: async () => {
      for (const server of [bare, framework]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  };
}
