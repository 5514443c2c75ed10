import { type Cursors, decodeCursors, fromRecord } from './cursors.js';

/** Cursors from a token, or from explicit per-conversation cursors; none = from the beginning. */
export function cursorsFrom(spec: { Token?: string; Cursors?: Record<string, number>; EventSeq?: number }): Cursors {
  if (spec.Token) return decodeCursors(spec.Token);
  return fromRecord(spec.Cursors ?? {}, spec.EventSeq ?? 0);
}
