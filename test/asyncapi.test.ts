import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { clientFrame } from '../src/gateway/protocol.js';
import { serverFrame } from '../src/notify/server-frames.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { signedInSocket } from './helpers/ws.js';
import { makeFriends } from './helpers/http.js';

/** The example frames of docs/protocol.md: `→` client to server, `←` server to client. */
function protocolExamples(): Array<{ line: number; dir: '→' | '←'; frame: unknown }> {
  return readFileSync('docs/protocol.md', 'utf8')
    .split('\n')
    .flatMap((text, i) => {
      const m = /^([→←]) (\{.*\})$/.exec(text);
      return m ? [{ line: i + 1, dir: m[1] as '→' | '←', frame: JSON.parse(m[2]!) as unknown }] : [];
    });
}

describe('the AsyncAPI document of the WebSocket', () => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode('sqlite');
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('is served, AsyncAPI 3, with a message for every client and server Cmd', async () => {
    const res = await fetch(`${t.url}/api/v1/asyncapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { asyncapi: string; components: { messages: Record<string, { payload: { properties: { Cmd: { const: number } } } }> }; operations: Record<string, { action: string; messages: Array<{ $ref: string }> }> };
    expect(doc.asyncapi).toBe('3.0.0');
    const cmds = (prefix: string) => Object.entries(doc.components.messages).filter(([k]) => k.startsWith(prefix)).map(([, m]) => m.payload.properties.Cmd.const).sort((a, b) => a - b);
    expect(cmds('client')).toEqual([3, 15, 17, 20, 22, 27]);
    expect(cmds('server')).toEqual([2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 18, 19, 21, 23, 24, 25, 26, 28, 29, 30, 31]);
    expect(doc.operations.receiveClientFrames!.action).toBe('receive');
    for (const ref of Object.values(doc.operations).flatMap((o) => o.messages)) expect(ref.$ref).toMatch(/^#\/channels\/ws\/messages\/(client|server)\d+$/);
  });

  it('every example frame of docs/protocol.md is valid against the schemas', () => {
    const examples = protocolExamples();
    expect(examples.length).toBeGreaterThan(15);
    for (const { line, dir, frame } of examples) {
      const result = (dir === '→' ? clientFrame : serverFrame).safeParse(frame);
      expect(result.success, `docs/protocol.md:${line}: ${result.success ? '' : z.prettifyError(result.error)}`).toBe(true);
    }
  });

  it('frames the server really sends pass the same schemas', async () => {
    const { a, b } = await makeFriends(t.api);
    const sa = await signedInSocket(t.url, a.token);
    const sb = await signedInSocket(t.url, b.token);
    sa.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'schema', ClientMsgId: 'sch1' });
    await sb.next((f) => f.Cmd === 6);
    await sa.next((f) => f.Cmd === 18);
    sa.send({ Cmd: 15 });
    await sa.next((f) => f.Cmd === 16);
    sa.send({ Cmd: 17, ToId: 999_999, Ope: 0, Type: 0, Body: 'x', ClientMsgId: 'sch2' });
    await sa.next((f) => f.Cmd === 2);
    for (const f of [...sa.frames, ...sb.frames]) {
      const result = serverFrame.safeParse(f);
      expect(result.success, `${JSON.stringify(f)}: ${result.success ? '' : z.prettifyError(result.error)}`).toBe(true);
    }
    sa.close();
    sb.close();
  });
});
