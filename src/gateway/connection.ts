import type { WebSocket } from 'ws';
import { CloseCode } from './protocol.js';

let nextId = 0;

/**
 * One socket. Sends never block: a socket whose unsent bytes would pass `maxBufferedBytes` is a
 * slow consumer and is cut off (close code 4008), so it cannot hold memory or stall anyone else.
 */
export class Connection {
  readonly id = `c${++nextId}`;
  userId: number | undefined;
  jti: string | undefined;
  /** Token expiry (epoch seconds). */
  expiresAt = 0;
  alive = true;
  /** When the heartbeat last pinged it (epoch ms). */
  pingedAt = 0;
  badFrames = 0;

  constructor(
    readonly ws: WebSocket,
    private readonly maxBufferedBytes: number,
  ) {}

  get signedIn(): boolean {
    return this.userId !== undefined;
  }

  /** Sends a serialised frame; returns false if the socket was closed instead. */
  send(payload: string): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount + payload.length > this.maxBufferedBytes) {
      this.close(CloseCode.SlowConsumer, 'slow consumer');
      return false;
    }
    this.ws.send(payload);
    return true;
  }

  /** Closes with a code; a socket that does not finish the closing handshake soon is terminated. */
  close(code: number, reason: string): void {
    if (this.ws.readyState === this.ws.CLOSED) return;
    if (code === CloseCode.SlowConsumer) {
      // Its buffer is full: a close frame would queue behind it. Cut it off now.
      this.ws.terminate();
      return;
    }
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}
