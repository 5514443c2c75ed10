import WebSocket from 'ws';
import type { Frame } from '../../src/notify/notifier.js';

/** A frame as a client receives it (the server's `Frame`, plus what acks and failures carry). */
export type ReceivedFrame = Frame & { ClientMsgId?: string; More?: boolean; Code?: number; Reason?: string; Features?: string[] };

/** A test client socket that records every frame it receives. */
export class TestSocket {
  readonly frames: ReceivedFrame[] = [];
  /** Binary frames received: the server sends text frames only. */
  binaryFrames = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.binaryFrames++;
      this.frames.push(JSON.parse(data.toString()) as ReceivedFrame);
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first frame (already received or coming) that matches. */
  async next(match: (f: ReceivedFrame) => boolean, timeoutMs = 3000): Promise<ReceivedFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 800)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Frames of one command received so far. */
  of(cmd: number): ReceivedFrame[] {
    return this.frames.filter((f) => f.Cmd === cmd);
  }

  close(): void {
    this.ws.close();
  }
}

export function wsUrl(httpUrl: string): string {
  return `${httpUrl.replace(/^http/, 'ws')}/ws`;
}

/** Opens a socket to a node (optionally with WebSocket options such as headers). */
export async function openSocket(httpUrl: string, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
  const ws = new WebSocket(wsUrl(httpUrl), options);
  const socket = new TestSocket(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return socket;
}

/** Opens a socket and signs in with `token`; resolves after Cmd 4. */
export async function signedInSocket(httpUrl: string, token: string): Promise<TestSocket> {
  const socket = await openSocket(httpUrl);
  socket.send({ Cmd: 3, FromId: 0, ToId: 0, Ope: 0, Type: 0, Body: token });
  await socket.next((f) => f.Cmd === 4);
  return socket;
}

/** Waits a little so frames that should NOT arrive would have arrived. */
export function settle(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Signed-in sockets a suite opens to its node (`url()`), all terminated by `terminateAll`. */
export function socketPool(url: () => string) {
  const open: TestSocket[] = [];
  return {
    async socket(token: string): Promise<TestSocket> {
      const s = await signedInSocket(url(), token);
      open.push(s);
      return s;
    },
    terminateAll(): void {
      for (const s of open.splice(0)) s.ws.terminate();
    },
  };
}

/**
 * Opens a socket and signs in as a newer client would: declaring `features` (none: as weIm-go's
 * clients do), with a Sync from `cursors` when given (then resolves after SyncDone, else after Cmd 4).
 */
export async function featuredSocket(httpUrl: string, token: string, features?: string[], cursors?: Record<string, number>): Promise<TestSocket> {
  const s = await openSocket(httpUrl);
  s.send({ Cmd: 3, Body: token, ...(features ? { Features: features } : {}), ...(cursors ? { Sync: { Cursors: cursors, EventSeq: 0 } } : {}) });
  await s.next((f) => f.Cmd === (cursors ? 23 : 4));
  return s;
}
