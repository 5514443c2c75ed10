import { openSocket, type ReceivedFrame, type TestSocket } from './ws.js';

/** The stream a frame belongs to (`c<conv>` or `e`) and its seq, or undefined for other frames. */
export function streamOf(f: ReceivedFrame & { ConvId?: number; EventSeq?: number }): { key: string; seq: number } | undefined {
  if ([6, 7, 10, 11].includes(f.Cmd) && f.ConvId !== undefined && f.Seq !== undefined) return { key: `c${f.ConvId}`, seq: f.Seq };
  if ([8, 9, 12, 13, 14].includes(f.Cmd) && f.EventSeq !== undefined) return { key: 'e', seq: f.EventSeq };
  return undefined;
}

/**
 * A device as a real client keeps it: its cursors (highest seq per stream) survive reconnects,
 * and every stream frame it ever received is kept, so tests can check nothing was lost or doubled.
 */
export class SyncDevice {
  readonly received: Array<{ key: string; seq: number; frame: ReceivedFrame }> = [];
  readonly cursors = new Map<string, number>();
  socket: TestSocket | undefined;
  private seen = 0;

  constructor(
    private readonly url: string,
    readonly token: string,
  ) {}

  /** Signs in with a sync from its cursors; resolves after SyncDone (More: false). */
  async connect(): Promise<void> {
    const socket = await openSocket(this.url);
    this.socket = socket;
    this.seen = 0;
    socket.ws.on('message', () => this.absorb());
    const conversations: Record<string, number> = {};
    for (const [key, seq] of this.cursors) if (key.startsWith('c')) conversations[key.slice(1)] = seq;
    socket.send({ Cmd: 3, Body: this.token, Sync: { Cursors: conversations, EventSeq: this.cursors.get('e') ?? 0 } });
    const done = await socket.next((f) => f.Cmd === 23 || f.Cmd === 2, 15_000);
    if (done.Cmd === 2) throw new Error(`sync refused: ${done.Body}`);
    if ((done as { More?: boolean }).More) throw new Error('sync had more pages than one run sends');
  }

  disconnect(): void {
    this.absorb();
    this.socket?.ws.terminate();
    this.socket = undefined;
  }

  /** Frames since connect that belong to streams, in arrival order. */
  private absorb(): void {
    const frames = this.socket?.frames ?? [];
    for (; this.seen < frames.length; this.seen++) {
      const frame = frames[this.seen]!;
      const stream = streamOf(frame);
      if (!stream) continue;
      this.received.push({ ...stream, frame });
      if (stream.seq > (this.cursors.get(stream.key) ?? 0)) this.cursors.set(stream.key, stream.seq);
    }
  }

  /** Seqs received per stream, in arrival order. */
  seqsByStream(): Map<string, number[]> {
    this.absorb();
    const out = new Map<string, number[]>();
    for (const r of this.received) out.set(r.key, [...(out.get(r.key) ?? []), r.seq]);
    return out;
  }

  /** Waits until the device holds `seq` of `key` (live delivery is asynchronous). */
  async waitFor(key: string, seq: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.absorb();
      if ((this.cursors.get(key) ?? 0) >= seq) return;
      if (Date.now() > deadline) throw new Error(`device never got ${key}:${seq} (has ${this.cursors.get(key) ?? 0})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
