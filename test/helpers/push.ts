import { randomBytes } from 'node:crypto';
import { signPush } from '../../src/modules/push/index.js';

/** How a push API request is signed (defaults: a new nonce, now). */
export interface Signing {
  app: string;
  secret: string;
  timestamp?: number;
  nonce?: string;
}

/** A push API answer: status, envelope, headers and the body's exact text. */
export interface PushAnswer {
  status: number;
  code: number;
  msg: string;
  data: any;
  text: string;
  headers: Headers;
}

/** A signed push API request as a business backend builds it; `send()` sends it (again, as it is, each call). */
export function signedPush(api: string, path: string, body: unknown, signing: Signing, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  const timestamp = String(signing.timestamp ?? Math.floor(Date.now() / 1000));
  const nonce = signing.nonce ?? randomBytes(12).toString('hex');
  const signature = signPush(signing.secret, { timestamp, nonce, method: 'POST', path: new URL(`${api}${path}`).pathname, body: text });
  const all = { 'Content-Type': 'application/json', 'X-Weim-App': signing.app, 'X-Weim-Timestamp': timestamp, 'X-Weim-Nonce': nonce, 'X-Weim-Signature': signature, ...headers };
  return {
    nonce,
    async send(extra: { headers?: Record<string, string>; without?: string[] } = {}): Promise<PushAnswer> {
      const sent: Record<string, string> = { ...all, ...extra.headers };
      for (const name of extra.without ?? []) delete sent[name];
      const response = await fetch(`${api}${path}`, { method: 'POST', headers: sent, body: text });
      const raw = await response.text();
      return { status: response.status, ...(JSON.parse(raw) as { code: number; msg: string; data: any }), text: raw, headers: response.headers };
    },
  };
}
