import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { textFrame } from '../src/gateway/wire-frame.js';

// ws's own framing and parser (not in @types/ws): what textFrame must agree with.
const require = createRequire(import.meta.url);
const { Sender, Receiver } = require('ws') as {
  Sender: { frame(data: Buffer, options: object): Buffer[] };
  Receiver: new (options: object) => Writable;
};

/** A payload of exactly `bytes` UTF-8 bytes, with 3-byte characters where they fit. */
function payloadOf(bytes: number): string {
  const wide = Math.floor(bytes / 3);
  return '消'.repeat(wide) + 'x'.repeat(bytes - wide * 3);
}

/** What ws's client-side parser makes of `frame`: each message and whether it was binary. */
async function parse(frame: Buffer): Promise<Array<{ text: string; isBinary: boolean }>> {
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  const got: Array<{ text: string; isBinary: boolean }> = [];
  receiver.on('message', (data: Buffer, isBinary: boolean) => got.push({ text: data.toString(), isBinary }));
  await new Promise<void>((resolve, reject) => receiver.write(frame, (err) => (err ? reject(err) : resolve())));
  return got;
}

describe('textFrame', () => {
  // 7-bit, 16-bit and 64-bit payload lengths, at and around each boundary.
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_000])('frames a %i-byte payload exactly as ws does, and ws reads it back as text', async (bytes) => {
    const payload = payloadOf(bytes);
    expect(Buffer.byteLength(payload)).toBe(bytes);
    const frame = textFrame(payload);
    const expected = Buffer.concat(Sender.frame(Buffer.from(payload), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }));
    expect(frame.equals(expected)).toBe(true);
    expect(await parse(frame)).toEqual([{ text: payload, isBinary: false }]);
  });

  it('keeps characters outside the BMP whole', async () => {
    const payload = JSON.stringify({ Cmd: 10, Body: '表情 😀 emoji' });
    expect(await parse(textFrame(payload))).toEqual([{ text: payload, isBinary: false }]);
  });
});
