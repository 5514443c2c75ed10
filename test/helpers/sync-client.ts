import { post } from './http.js';
import { openSocket, type ReceivedFrame, type TestSocket } from './ws.js';

/** The stream a frame belongs to (`c<conv>` or `e`) and its seq, or undefined for other frames. */
export function streamOf(f: ReceivedFrame & { ConvId?: number; EventSeq?: number }): { key: string; seq: number } | undefined {
  if ([6, 7, 10, 11, 29, 30, 31].includes(f.Cmd) && f.ConvId !== undefined && f.Seq !== undefined) return { key: `c${f.ConvId}`, seq: f.Seq };
  if ([8, 9, 12, 13, 14, 25].includes(f.Cmd) && f.EventSeq !== undefined) return { key: 'e', seq: f.EventSeq };
  return undefined;
}

/** The features whose Cmds (29, 30, 31) are events of conversation streams. */
export const STREAM_FEATURES = ['edit', 'reactions', 'group-events'];

/**
 * A device as a real client keeps it. It holds every stream item it received or sent itself (by
 * ack or HTTP answer), and presents as its cursor per stream the highest seq below which it holds
 * everything. It records any frame the server sends twice in one connection, or at or below the
 * cursor it presented: both are server faults ("nothing twice").
 */
export class SyncDevice {
  /** Every stream frame received, in arrival order. */
  readonly received: Array<{ key: string; seq: number; frame: ReceivedFrame }> = [];
  /** Server faults seen: duplicates within a connection, or resends at or below the cursor. */
  readonly faults: string[] = [];
  private readonly held = new Map<string, Set<number>>();
  private presented = new Map<string, number>();
  private session = new Set<string>();
  socket: TestSocket | undefined;
  private seen = 0;

  constructor(
    /** The node it connects to (a test may move it to another node between connections). */
    public url: string,
    readonly token: string,
  ) {}

  /**
   * Where each stream starts for this device: before the first seq the server sent it (a group
   * joined at seq 57 starts there, as the SDK's StreamGate has it); 0 until then.
   */
  private readonly base = new Map<string, number>();

  /** The contiguous prefix held of a stream (from its start). */
  cursor(key: string): number {
    const set = this.held.get(key);
    let c = this.base.get(key) ?? 0;
    while (set?.has(c + 1)) c++;
    return c;
  }

  private hold(key: string, seq: number): void {
    let set = this.held.get(key);
    if (!set) this.held.set(key, (set = new Set()));
    set.add(seq);
  }

  /** Signs in with a sync from its cursors; resolves after SyncDone (More: false). */
  async connect(): Promise<void> {
    const socket = await openSocket(this.url);
    this.socket = socket;
    this.seen = 0;
    this.session = new Set();
    socket.ws.on('message', () => this.absorb());
    const conversations: Record<string, number> = {};
    this.presented = new Map();
    for (const key of this.held.keys()) {
      this.presented.set(key, this.cursor(key));
      if (key.startsWith('c')) conversations[key.slice(1)] = this.cursor(key);
    }
    // A client that tracks seqs declares the features whose events share its conversation streams.
    socket.send({ Cmd: 3, Body: this.token, Features: STREAM_FEATURES, Sync: { Cursors: conversations, EventSeq: this.cursor('e') } });
    const done = await socket.next((f) => f.Cmd === 23 || f.Cmd === 2, 15_000);
    if (done.Cmd === 2) throw new Error(`sync refused: ${done.Body}`);
    if ((done as { More?: boolean }).More) throw new Error('sync had more pages than one run sends');
  }

  /** Syncs on the open socket (Cmd 22) from its cursors now; resolves after SyncDone. */
  async resync(): Promise<void> {
    const socket = this.socket!;
    this.absorb();
    const conversations: Record<string, number> = {};
    for (const key of this.held.keys()) {
      this.presented.set(key, this.cursor(key));
      if (key.startsWith('c')) conversations[key.slice(1)] = this.cursor(key);
    }
    const before = socket.of(23).length;
    socket.send({ Cmd: 22, Cursors: conversations, EventSeq: this.cursor('e') });
    await socket.next(() => socket.of(23).length > before || socket.of(2).length > 0, 15_000);
    if (socket.of(2).length > 0) throw new Error(`sync refused: ${socket.of(2)[0]!.Body}`);
    this.absorb();
  }

  disconnect(): void {
    this.absorb();
    this.socket?.ws.terminate();
    this.socket = undefined;
  }

  /** Sends a friend or group message over this device's socket; the ack's seq is held. */
  async sendOverSocket(ope: 0 | 1, toId: number, body: string): Promise<void> {
    const socket = this.socket!;
    const clientMsgId = `${Math.random()}`;
    socket.send({ Cmd: 17, ToId: toId, Ope: ope, Type: 0, Body: body, ClientMsgId: clientMsgId });
    // If another step closes this socket meanwhile, the message (if stored) comes back by sync.
    const ack = (await Promise.race([
      socket.next((f) => (f.Cmd === 18 || f.Cmd === 2) && f.ClientMsgId === clientMsgId, 10_000),
      socket.closed.then(() => undefined),
    ])) as (ReceivedFrame & { ConvId: number }) | undefined;
    if (!ack) return;
    if (ack.Cmd === 2) throw new Error(`send refused: ${ack.Body}`);
    this.hold(`c${ack.ConvId}`, ack.Seq!);
  }

  /** Sends over HTTP with this device's token (the device is the sender); the answer's seq is held. */
  async sendOverHttp(api: string, path: '/im/chat/send/user' | '/im/chat/send/group', body: Record<string, unknown>): Promise<number> {
    const r = await post<{ id: number; seq: number; conversation_id: number }>(api, path, body, { token: this.token });
    if (r.code !== 0) throw new Error(`send refused: ${r.msg}`);
    this.hold(`c${r.data.conversation_id}`, r.data.seq);
    return r.data.id;
  }

  private absorb(): void {
    const frames = this.socket?.frames ?? [];
    for (; this.seen < frames.length; this.seen++) {
      const frame = frames[this.seen]!;
      const stream = streamOf(frame);
      if (!stream) continue;
      const id = `${stream.key}:${stream.seq}`;
      if (this.session.has(id)) this.faults.push(`${id} twice in one connection`);
      if (stream.seq <= (this.presented.get(stream.key) ?? 0)) this.faults.push(`${id} resent at or below the presented cursor`);
      this.session.add(id);
      this.received.push({ ...stream, frame });
      if (!this.base.has(stream.key)) this.base.set(stream.key, stream.seq - 1);
      this.hold(stream.key, stream.seq);
    }
  }

  /** Seqs held per stream, ascending. */
  heldByStream(): Map<string, number[]> {
    this.absorb();
    return new Map([...this.held].map(([k, set]) => [k, [...set].sort((a, b) => a - b)]));
  }

  /** Seqs received per stream, in arrival order. */
  seqsByStream(): Map<string, number[]> {
    this.absorb();
    const out = new Map<string, number[]>();
    for (const r of this.received) out.set(r.key, [...(out.get(r.key) ?? []), r.seq]);
    return out;
  }

  /** Waits until the device holds everything of `key` up to `seq` (live delivery is asynchronous). */
  async waitFor(key: string, seq: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.absorb();
      if (this.cursor(key) >= seq) return;
      if (Date.now() > deadline) throw new Error(`device never got all of ${key} up to ${seq} (holds up to ${this.cursor(key)})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}
