import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';

/** A notification a fake provider accepted: the device token and what the phone would show. */
export interface Delivered {
  token: string;
  title: string;
  body: string;
  badge: number;
  data: Record<string, string>;
}

/** Tokens every fake answers as gone (the provider's "unregistered"). */
export const STALE = 'stale-token';

/**
 * A loopback FCM HTTP v1: the OAuth token endpoint checks the service account's JWT as Google does
 * (RS256 with the account's key, `iss` the client email, `aud` the token URI, the FCM scope,
 * `exp` at most an hour out) and answers an access token; `messages:send` accepts only that token,
 * checks the project and the message's shape, answers 404 UNREGISTERED for STALE.
 */
export async function fakeFcm() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const delivered: Delivered[] = [];
  const refused: string[] = [];
  const issued = new Set<string>();
  let base = '';
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/token') {
        const form = new URLSearchParams(raw);
        try {
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('grant_type');
          const claims = jwt.verify(form.get('assertion') ?? '', publicKey, { algorithms: ['RS256'], audience: `${base}/token`, issuer: 'weim@test-project.iam.gserviceaccount.com' }) as jwt.JwtPayload;
          if (claims.scope !== 'https://www.googleapis.com/auth/firebase.messaging') throw new Error('scope');
          if (!claims.exp || !claims.iat || claims.exp - claims.iat > 3600) throw new Error('exp');
        } catch (err) {
          refused.push(`token: ${(err as Error).message}`);
          return answer(400, { error: 'invalid_grant' });
        }
        const token = `ya29.${issued.size + 1}`;
        issued.add(token);
        return answer(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
      }
      if (req.url !== '/v1/projects/test-project/messages:send') return answer(404, { error: { status: 'NOT_FOUND' } });
      if (!issued.has((req.headers.authorization ?? '').replace(/^Bearer /, ''))) return answer(401, { error: { status: 'UNAUTHENTICATED' } });
      const { message } = JSON.parse(raw) as { message: { token: string; notification: { title: string; body: string }; data: Record<string, string>; apns: { payload: { aps: { badge: number } } } } };
      if (!message?.token || !message.notification) return answer(400, { error: { status: 'INVALID_ARGUMENT' } });
      if (Object.values(message.data ?? {}).some((v) => typeof v !== 'string')) return answer(400, { error: { status: 'INVALID_ARGUMENT', message: 'data values must be strings' } });
      if (message.token === STALE) return answer(404, { error: { status: 'NOT_FOUND', details: [{ errorCode: 'UNREGISTERED' }] } });
      delivered.push({ token: message.token, ...message.notification, badge: message.apns.payload.aps.badge, data: message.data });
      return answer(200, { name: `projects/test-project/messages/${delivered.length}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const account = { type: 'service_account', project_id: 'test-project', client_email: 'weim@test-project.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: `${base}/token` };
  return { delivered, refused, account, endpoint: base, close: () => server.close() };
}

/**
 * A loopback APNs (HTTP/2, cleartext: the real one is TLS): checks the provider token as Apple does
 * (ES256 with the team's key, `kid` the key id, `iss` the team, `iat` within the hour), the
 * `apns-topic`, `apns-push-type` and the path; answers 410 Unregistered for STALE.
 */
export async function fakeApns() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const delivered: Delivered[] = [];
  const refused: string[] = [];
  const server: Http2Server = createHttp2Server();
  server.on('stream', (stream, headers) => {
    let raw = '';
    stream.on('data', (c: Buffer) => (raw += c.toString()));
    stream.on('end', () => {
      const answer = (status: number, body?: unknown) => {
        stream.respond({ ':status': status, 'content-type': 'application/json' });
        stream.end(body === undefined ? '' : JSON.stringify(body));
      };
      try {
        const token = String(headers.authorization ?? '').replace(/^bearer /, '');
        const decoded = jwt.decode(token, { complete: true });
        if (decoded?.header.kid !== 'KEYID12345') throw new Error('kid');
        const claims = jwt.verify(token, publicKey, { algorithms: ['ES256'], issuer: 'TEAMID1234' }) as jwt.JwtPayload;
        if (!claims.iat || Math.abs(Date.now() / 1000 - claims.iat) > 3600) throw new Error('iat');
        if (headers['apns-topic'] !== 'com.example.weim' || headers['apns-push-type'] !== 'alert' || headers[':method'] !== 'POST') throw new Error('headers');
      } catch (err) {
        refused.push((err as Error).message);
        return answer(403, { reason: 'InvalidProviderToken' });
      }
      const device = decodeURIComponent(String(headers[':path']).replace(/^\/3\/device\//, ''));
      if (device === STALE) return answer(410, { reason: 'Unregistered', timestamp: Date.now() });
      const { aps, ...data } = JSON.parse(raw) as { aps: { alert: { title: string; body: string }; badge: number } } & Record<string, string>;
      delivered.push({ token: device, title: aps.alert.title, body: aps.alert.body, badge: aps.badge, data });
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { delivered, refused, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}
