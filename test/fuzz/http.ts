import { Agent, request } from 'node:http';
import * as samples from '../helpers/media-samples.js';
import { errorReasons, type Reason } from '../../src/errors.js';
import { assertNoLeak } from './leaks.js';
import { type BadTokenName, pushHeaders, type PushSigning, type World } from './world.js';

/** Who the request says it is. */
export type TokenSpec =
  | { kind: 'me' }
  | { kind: 'none' }
  | { kind: 'bad'; name: BadTokenName; header: 'login' | 'bearer' }
  | { kind: 'garbage'; header: 'login' | 'bearer' | 'authorization'; value: string };

/** A file part's content, named so a failing case prints readably. */
export type PartData = { sample: 'png' | 'gif' | 'jpeg' | 'webp' | 'wav' | 'mp3' | 'elf'; padTo?: number } | { text: string };

export interface Part {
  name: string;
  /** Set for a file part. */
  filename?: string;
  data: PartData;
}

/** One generated HTTP request and what the answer must be. */
export interface HttpCase {
  /** Which family of refusal it belongs to (for the report). */
  why: string;
  method: string;
  path: string;
  contentType?: string;
  headers?: Record<string, string>;
  token: TokenSpec;
  /** The body as text (JSON or form), or multipart parts. */
  body: string | { boundary: string; parts: Part[]; cutAt?: number };
  /** Push API requests: how to sign (the body text is signed unless told otherwise). */
  push?: PushSigning;
  /** Statuses the answer may have (all 4xx). */
  expect: number[];
}

export interface HttpAnswer {
  status: number;
  text: string;
  contentType: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function partBytes(data: PartData): Buffer {
  if ('text' in data) return Buffer.from(data.text, 'utf8');
  const bytes: Buffer = samples[data.sample]();
  return data.padTo && data.padTo > bytes.length ? Buffer.concat([bytes, Buffer.alloc(data.padTo - bytes.length, 0x20)]) : bytes;
}

/**
 * The bytes of a multipart body; with `cutAt`, only its first `cutAt` bytes, and never past the
 * last part's content (a body missing only its closing delimiter's tail holds every part whole).
 */
export function multipartBytes(body: { boundary: string; parts: Part[]; cutAt?: number }): Buffer {
  const chunks: Buffer[] = [];
  let contentEnd = 0;
  for (const p of body.parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`;
    const type = p.filename !== undefined ? 'Content-Type: application/octet-stream\r\n' : '';
    chunks.push(Buffer.from(`--${body.boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`), partBytes(p.data));
    contentEnd = chunks.reduce((n, c) => n + c.length, 0);
    chunks.push(Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${body.boundary}--\r\n`));
  const all = Buffer.concat(chunks);
  return body.cutAt !== undefined ? all.subarray(0, Math.max(1, Math.min(body.cutAt, contentEnd - 1))) : all;
}

function tokenHeaders(world: World, token: TokenSpec): Record<string, string> {
  switch (token.kind) {
    case 'me':
      return { 'Login-Token': world.me.token };
    case 'none':
      return {};
    case 'bad': {
      const value = world.badTokens[token.name];
      return token.header === 'login' ? { 'Login-Token': value } : { Authorization: `Bearer ${value}` };
    }
    case 'garbage':
      return token.header === 'login' ? { 'Login-Token': token.value } : { Authorization: token.header === 'bearer' ? `Bearer ${token.value}` : token.value };
  }
}

/** Sends a case to the world's node and reads the whole answer. */
export function send(world: World, c: HttpCase): Promise<HttpAnswer> {
  const body = typeof c.body === 'string' ? Buffer.from(c.body, 'utf8') : multipartBytes(c.body);
  const headers: Record<string, string | number> = { ...tokenHeaders(world, c.token), ...c.headers };
  if (c.push) Object.assign(headers, pushHeaders(world.node, c.path, body.toString('utf8'), { contentType: c.contentType, ...c.push }));
  else if (c.contentType !== undefined) headers['Content-Type'] = c.contentType;
  headers['Content-Length'] = body.length;
  const url = `${world.node.api}${c.path}`;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: c.method, headers, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
      res.on('error', reject);
    });
    // A refusal may close the connection before the whole body is written: only an error with no answer counts.
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(body);
  });
}

/** Codes docs/api.md gives each refusal status. */
const CODE_OF_STATUS: Record<number, number[]> = { 400: [1000], 401: [1001], 403: [1003], 404: [1002], 409: [1000], 413: [1004], 429: [1005] };

/** Property 1: a 4xx of the expected kind, as a `{code, msg, data: null}` envelope, nothing internal in it. */
export function assertRefusal(c: HttpCase, answer: HttpAnswer): void {
  const brief = `${c.method} ${c.path} answered ${answer.status} ${answer.text.slice(0, 300)}`;
  if (answer.status >= 500) throw new Error(`server error: ${brief}`);
  if (answer.status === 429) throw new Error(`rate limited (the suite's limits are too low to test anything): ${brief}`);
  if (!c.expect.includes(answer.status)) throw new Error(`expected ${c.expect.join(' or ')}: ${brief}`);
  if (!/^application\/json\b/.test(answer.contentType)) throw new Error(`not JSON (${answer.contentType}): ${brief}`);
  let envelope: unknown;
  try {
    envelope = JSON.parse(answer.text);
  } catch {
    throw new Error(`not an envelope: ${brief}`);
  }
  const e = envelope as { code?: unknown; msg?: unknown; reason?: unknown; data?: unknown };
  const keys = Object.keys(e).sort().join(',');
  if (keys !== 'code,data,msg,reason' || typeof e.code !== 'number' || typeof e.msg !== 'string' || e.data !== null) throw new Error(`not a {code, msg, reason, data: null} envelope: ${brief}`);
  if (typeof e.reason !== 'string' || !Object.hasOwn(errorReasons, e.reason) || errorReasons[e.reason as Reason].code !== e.code) throw new Error(`reason ${String(e.reason)} is not in the catalog or has another code: ${brief}`);
  if (!CODE_OF_STATUS[answer.status]?.includes(e.code)) throw new Error(`code ${e.code} does not go with HTTP ${answer.status}: ${brief}`);
  if (e.msg.length === 0 || e.msg.length > 300) throw new Error(`message empty or overlong: ${brief}`);
  assertNoLeak(e.msg, `${c.method} ${c.path}`);
}
