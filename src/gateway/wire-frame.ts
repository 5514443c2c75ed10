import type { StreamPosition } from '../notify/notifier.js';

/**
 * A live frame on its way to many sockets, prepared once for all of them: the whole wire frame
 * (`textFrame`) and its stream position.
 */
export class LiveFrame {
  readonly wire: Buffer;

  constructor(
    payload: string,
    readonly stream?: StreamPosition,
  ) {
    this.wire = textFrame(payload);
  }
}

/**
 * A stream position a socket has without being sent the frame (its device sent that message and
 * knows it): it takes its place in the stream's order and is written as nothing.
 */
export interface SilentFrame {
  readonly silent: true;
  readonly stream: StreamPosition;
}

/** What a socket's stream order holds and releases. */
export type OrderedFrame = LiveFrame | SilentFrame;

/**
 * A server-to-client WebSocket text frame, whole (RFC 6455 §5.2: FIN set, opcode 1, unmasked, no
 * extension bits), built once for a frame that goes to many sockets. `ws` builds a header and
 * encodes the string on every send; a group message to 10,000 members then cost about a quarter
 * more than one write of the same bytes to each socket (docs/benchmark-history.md, 2 December 2026, fourth session).
 */
export function textFrame(payload: string): Buffer {
  const length = Buffer.byteLength(payload);
  const header = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(header + length);
  frame[0] = 0x81;
  if (header === 2) {
    frame[1] = length;
  } else if (header === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(payload, header, 'utf8');
  return frame;
}
