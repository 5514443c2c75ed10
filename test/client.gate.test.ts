import { describe, expect, it } from 'vitest';
import { StreamGate } from '../src/client/cursors.js';
import { MAX_HELD_SEQS } from '../src/client/frames.js';
import { MAX_HELD } from '../src/modules/sync/cursors.js';

/** The client's per-stream order (src/client/cursors.ts). */
describe('StreamGate', () => {
  it('lets each seq through once, in order, holding early ones', () => {
    const gate = new StreamGate<string>(3);
    expect(gate.take(5, 'e', 1)).toEqual([]);
    expect(gate.gapSince).toBe(1);
    expect(gate.take(3, 'c', 2)).toEqual([]);
    expect(gate.take(4, 'd', 3)).toEqual(['d', 'e']);
    expect(gate.take(5, 'e', 4)).toEqual([]);
    expect([gate.cursor, gate.gapSince]).toEqual([5, 0]);
  });

  it('a stream with no cursor starts at the first frame the server sends (a group joined at 57)', () => {
    const gate = new StreamGate<string>();
    expect(gate.take(57, 'x', 1)).toEqual(['x']);
    expect(gate.take(56, 'older', 2)).toEqual([]);
  });

  it("the answer to its own send does not start a stream: another device's earlier message may still be coming", () => {
    // Found by the SDK's cluster test: the ack of seq 2 came before seq 1 from another node, and seq 1 was dropped.
    const gate = new StreamGate<string>();
    expect(gate.take(2, 'own', 1, false)).toEqual([]);
    expect(gate.gapSince).toBe(1);
    expect(gate.take(1, 'other device', 2)).toEqual(['other device', 'own']);
    // Seq 1 of a new conversation is its start, however it comes.
    expect(new StreamGate<string>().take(1, 'first', 1, false)).toEqual(['first']);
  });
});

describe('the SDK and the server agree on the sync\'s Held cap', () => {
  it('is the same number (the SDK does not import the server\'s schemas)', () => {
    expect(MAX_HELD_SEQS).toBe(MAX_HELD);
  });
});
