import { randomBytes } from 'node:crypto';
import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { signPush } from '../../src/modules/push/push.auth.js';

/** The realtime gateway's test apps and clients (test/gateway-apps*.test.ts). */

export const A = { key: 'shop-a', name: 'Shop A', secret: 'secret-of-shop-a-at-least-32-characters' };
export const B = { key: 'shop-b', name: 'Shop B', secret: 'secret-of-shop-b-at-least-32-characters' };
/** An app whose backend was written for goravel-socket (its answers). */
export const C = { key: 'game-c', name: 'Game C', secret: 'secret-of-game-c-at-least-32-characters', api: 'goravel-socket' };
export const APPS = JSON.stringify([A, B, C]);

export type Frame = Record<string, any>;

/** A woodylan client: connects with `systemId`, keeps every frame, knows its clientId from the greeting. */
export class AppClient {
  readonly frames: Frame[] = [];
  closed: number | undefined;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data)) as Frame));
    ws.on('close', (code) => (this.closed = code));
  }

  /** From woodylan's greeting (`clientId`) or goravel-websocket's (`client`). */
  get clientId(): string {
    const data = this.frames[0]!.data as { clientId?: string; client?: string };
    return (data.clientId ?? data.client)!;
  }

  async next(match: (f: Frame) => boolean, ms = 3000): Promise<Frame> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such frame; got ${JSON.stringify(this.frames).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Frames after the greeting. */
  messages(): Frame[] {
    return this.frames.slice(1);
  }
}

/** Every client a test opened (closed after each test: closeOpenClients). */
export const open: AppClient[] = [];

export function closeOpenClients(): void {
  for (const c of open.splice(0)) c.ws.terminate();
}

export async function connect(base: string, systemId: string, path = '/ws'): Promise<AppClient> {
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}${path}?systemId=${encodeURIComponent(systemId)}`);
  const client = new AppClient(ws);
  open.push(client);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await client.next(() => true);
  return client;
}

/** A woodylan call: POST /api/<route>, `SystemId` header, JSON body; signed with `secret` when given. */
export async function call(base: string, route: string, systemId: string | undefined, body: Record<string, unknown>, secret?: string, nonce = randomBytes(12).toString('hex')) {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (systemId !== undefined) headers.SystemId = systemId;
  if (secret) {
    const timestamp = String(Math.floor(Date.now() / 1000));
    Object.assign(headers, { 'X-Weim-Timestamp': timestamp, 'X-Weim-Nonce': nonce, 'X-Weim-Signature': signPush(secret, { timestamp, nonce, method: 'POST', path: `/api/${route}`, body: text }) });
  }
  const res = await fetch(`${base}/api/${route}`, { method: 'POST', headers, body: text });
  return { status: res.status, ...((await res.json()) as { code: number; msg: string; data: any }) };
}

export const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));

/** goravel-websocket's call: POST /api/websocket/<route>, systemId in the body. */
export async function okami(base: string, route: string, body: Record<string, unknown>) {
  const res = await fetch(`${base}/api/websocket/${route}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as { code: number; data: any; msg: string } };
}

/** weim's app API: POST /api/v1/apps/<route>, signed like the push API with the app's key and secret. */
export async function appApi(base: string, route: string, app: { key: string; secret: string }, body: Record<string, unknown>, extra: Record<string, string> = {}, nonce = randomBytes(12).toString('hex')) {
  const text = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const path = `/api/v1/apps/${route}`;
  const headers = { 'Content-Type': 'application/json', 'X-Weim-App': app.key, 'X-Weim-Timestamp': timestamp, 'X-Weim-Nonce': nonce, 'X-Weim-Signature': signPush(app.secret, { timestamp, nonce, method: 'POST', path, body: text }), ...extra };
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: text });
  return { status: res.status, ...((await res.json()) as { code: number; msg: string; reason?: string; data: any }) };
}

/** An xlvein client: `/ws/connect?app_id=&token=`, no greeting; every frame kept. */
export async function xlveinClient(base: string, app: { key: string; secret: string }, sub: string): Promise<AppClient> {
  const token = jwt.sign({ sub, iss: 'TimeToken' }, app.secret, { algorithm: 'HS256', expiresIn: '1h' });
  const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws/connect?app_id=${app.key}&token=${token}`);
  const client = new AppClient(ws);
  open.push(client);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}
