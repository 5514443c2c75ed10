import { type CursorState, type CursorStore, MemoryCursorStore, StreamGate } from './cursors.js';
import { Emitter } from './emitter.js';
import { type ClientEvents, MAX_HELD_SEQS, type MessageFrame, type SendAck, type ServerFrame } from './frames.js';

/** What the client needs of a WebSocket: the browser's, Node 22's, or the `ws` package's. */
export interface SocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type SocketFactory = new (url: string) => SocketLike;

export interface ClientOptions {
  /** ws(s)://host/ws; several: tried in turn on each reconnect (nodes without a load balancer). */
  url: string | string[];
  /** A `Login-Token` (`/login`'s `data.t`); `token()` for one fetched anew at each sign-in. */
  token: string | (() => string | Promise<string>);
  /** Where cursors persist (default: memory). */
  store?: CursorStore;
  /** The WebSocket class (default: `globalThis.WebSocket`; in Node 20 pass `ws`'s). */
  WebSocket?: SocketFactory;
  /** Reconnect backoff: from `minMs` doubling to `maxMs`, each wait jittered to 50–100 %. */
  backoff?: { minMs?: number; maxMs?: number };
  /** How long a missing seq is waited for before the client asks the server to sync (ms). */
  gapWaitMs?: number;
  /** How long a send waits for its answer before it is written again (ms). */
  sendTimeoutMs?: number;
  /** The language of refusals (`zh`, `en`), sent in each sign-in as `Lang`. */
  lang?: () => string | undefined;
}

interface PendingSend {
  frame: Record<string, unknown>;
  resolve: (ack: SendAck) => void;
  reject: (err: Error) => void;
  /** When to write it (again): 0 at once (never written, or its socket closed); else the time its answer is given up on. */
  dueAt: number;
}

const OPEN = 1;
const STREAM_CMDS = new Set([6, 7, 10, 11, 29, 30, 31]);
const EVENT_CMDS = new Set([8, 9, 12, 13, 14, 25]);
/** Codes of a Cmd 2 that mean "the same send again, later". */
const RETRY_CODES = new Set([1005, 1503]);
/** Close codes after which signing in again cannot help. */
const FINAL_CLOSES = new Set([4002, 4003]);

/**
 * A weim client: signs in with `Sync` from its cursors, reconnects with jittered exponential
 * backoff (and at once when the browser comes back online), syncs again on Cmd 24, on a seq gap and
 * on every reconnect, and hands the app each conversation's messages exactly once and in `Seq`
 * order (its own sends included, when acked). Sends carry a `ClientMsgId` and are written again
 * until answered, which the server stores once. No Node built-ins: runs in browsers and Node.
 */
export class WeimClient extends Emitter<ClientEvents> {
  private ws: SocketLike | undefined;
  private readonly store: CursorStore;
  private readonly urls: string[];
  private urlIndex = 0;
  private attempts = 0;
  private running = false;
  private signedIn = false;
  private syncing = false;
  private syncAgain = false;
  private readonly gates = new Map<string, StreamGate<MessageFrame>>();
  private events = new StreamGate<ServerFrame>(0);
  private readonly pending = new Map<string, PendingSend>();
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private ticker: ReturnType<typeof setInterval> | undefined;
  private saveQueued = false;
  private idSeq = 0;
  private readonly idPrefix = Math.random().toString(36).slice(2, 10);
  private readonly onOnline = () => this.reconnectNow();
  /** The browser lost the network: drop the socket now (it could hang for minutes) and show offline. */
  private readonly onOffline = () => this.ws?.close(4000, 'offline');

  constructor(private readonly options: ClientOptions) {
    super();
    this.store = options.store ?? new MemoryCursorStore();
    this.urls = Array.isArray(options.url) ? options.url : [options.url];
  }

  /** Loads the cursors and connects; reconnects until `stop()`. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const saved = await this.store.load();
    if (saved) {
      for (const [conv, seq] of Object.entries(saved.conversations)) this.gates.set(conv, new StreamGate(seq));
      this.events = new StreamGate(saved.events);
    }
    const events = globalThis as { addEventListener?: (t: string, f: () => void) => void };
    events.addEventListener?.('online', this.onOnline);
    events.addEventListener?.('offline', this.onOffline);
    this.ticker = setInterval(() => this.tick(), 250);
    this.connect();
  }

  /** Closes the socket and stops reconnecting; sends not yet answered are rejected. */
  stop(): void {
    this.running = false;
    const events = globalThis as { removeEventListener?: (t: string, f: () => void) => void };
    events.removeEventListener?.('online', this.onOnline);
    events.removeEventListener?.('offline', this.onOffline);
    clearInterval(this.ticker);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.ws?.close(1000, 'client stopped');
    this.ws = undefined;
    for (const p of this.pending.values()) p.reject(new Error('client stopped'));
    this.pending.clear();
    this.setState('stopped');
  }

  /** Where the client stands in every stream (what a sign-in presents and the store keeps). */
  cursors(): CursorState {
    const conversations: Record<string, number> = {};
    for (const [conv, gate] of this.gates) if (gate.cursor !== undefined) conversations[conv] = gate.cursor;
    return { conversations, events: this.events.cursor ?? 0 };
  }

  /** Seqs held above the cursors (`Held` of a sync: not sent again), at most MAX_HELD_SEQS. */
  private held(): { Held?: Record<string, number[]> } {
    const held: Record<string, number[]> = {};
    let count = 0;
    for (const [conv, gate] of this.gates) {
      const seqs = gate.heldSeqs().slice(0, MAX_HELD_SEQS - count);
      if (seqs.length === 0) continue;
      held[conv] = seqs;
      count += seqs.length;
    }
    return count > 0 ? { Held: held } : {};
  }

  /**
   * Sends a message (`ope` 0 to a friend, 1 to a group); resolves with its id and place once the
   * server stored it. Written again after a reconnect or a timeout until answered; stored once.
   * `options.replyTo`: the id of a message of the same conversation this one answers;
   * `options.mentions`: in a group, member ids or `all` (owner and admins).
   */
  send(toId: number, ope: 0 | 1, type: number, body: string, options: { replyTo?: number; mentions?: number[] | 'all' } = {}): Promise<SendAck> {
    const clientMsgId = `${this.idPrefix}-${Date.now().toString(36)}-${++this.idSeq}`;
    const frame = { Cmd: 17, ToId: toId, Ope: ope, Type: type, Body: body, ClientMsgId: clientMsgId, ...(options.replyTo === undefined ? {} : { ReplyTo: options.replyTo }), ...(options.mentions === undefined ? {} : { Mentions: options.mentions }) };
    return new Promise((resolve, reject) => {
      this.pending.set(clientMsgId, { frame, resolve, reject, dueAt: 0 });
      if (this.signedIn && !this.syncing) this.write(clientMsgId);
    });
  }

  /** Marks a conversation read up to `seq`. */
  read(convId: number, seq: number): void {
    if (this.signedIn) this.ws?.send(JSON.stringify({ Cmd: 20, ConvId: convId, Seq: seq }));
  }

  /**
   * Tells a friend (`ope` 0) or a group (`ope` 1) that this user is typing (Cmd 27). Live only:
   * dropped while offline. Call it when typing starts and every few seconds while it goes on (the
   * server allows 30 a minute by default).
   */
  typing(toId: number, ope: 0 | 1): void {
    if (this.signedIn) this.ws?.send(JSON.stringify({ Cmd: 27, ToId: toId, Ope: ope }));
  }

  private connect(): void {
    if (!this.running) return;
    this.setState('connecting');
    const Socket = this.options.WebSocket ?? (globalThis as { WebSocket?: SocketFactory }).WebSocket;
    if (!Socket) throw new Error('no WebSocket: pass options.WebSocket');
    const url = this.urls[this.urlIndex++ % this.urls.length]!;
    const ws = new Socket(url);
    this.ws = ws;
    ws.onopen = () => void this.signIn(ws);
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.onFrame(JSON.parse(String(ev.data)) as ServerFrame);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.signedIn = false;
      this.syncing = false;
      for (const p of this.pending.values()) p.dueAt = 0;
      this.emit('closed', { code: ev.code });
      if (!this.running) return;
      if (FINAL_CLOSES.has(ev.code)) {
        this.setState('signed-out');
        return;
      }
      this.setState('offline');
      const max = this.options.backoff?.maxMs ?? 30_000;
      const base = Math.min(max, (this.options.backoff?.minMs ?? 250) * 2 ** Math.min(this.attempts++, 16));
      this.later(base * (0.5 + Math.random() / 2), () => this.connect());
    };
  }

  private async signIn(ws: SocketLike): Promise<void> {
    const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token;
    if (this.ws !== ws || ws.readyState !== OPEN) return;
    this.syncing = true;
    const { conversations, events } = this.cursors();
    // Features: the frames newer than weIm-go's this client reads (docs/protocol.md, Features).
    ws.send(JSON.stringify({ Cmd: 3, Body: token, Sync: { Cursors: conversations, EventSeq: events, ...this.held() }, Features: ['typing', 'edit', 'reactions', 'group-events'], ...(this.options.lang?.() ? { Lang: this.options.lang() } : {}) }));
  }

  private requestSync(): void {
    if (!this.signedIn || !this.ws) return;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    const { conversations, events } = this.cursors();
    this.ws.send(JSON.stringify({ Cmd: 22, Cursors: conversations, EventSeq: events, ...this.held() }));
  }

  private onFrame(f: ServerFrame): void {
    this.emit('frame', f);
    const now = Date.now();
    if (STREAM_CMDS.has(f.Cmd) && f.ConvId !== undefined && f.Seq !== undefined) {
      // An own message in a sync (it carries the ClientMsgId) answers a send cut off by a reconnect.
      if (f.ClientMsgId) this.answer(f.ClientMsgId, { Id: f.Id!, ConvId: f.ConvId, Seq: f.Seq, Time: f.Time ?? now });
      this.deliver(String(f.ConvId), f.Seq, { ...(f as MessageFrame), own: Boolean(f.ClientMsgId) }, now);
    } else if (EVENT_CMDS.has(f.Cmd) && f.EventSeq !== undefined) {
      for (const e of this.events.take(f.EventSeq, f, now)) this.emit('event', e);
      this.queueSave();
    } else if (f.Cmd === 25) {
      this.emit('event', f); // a broadcast: not stored, no EventSeq
    } else if (f.Cmd === 4) {
      this.signedIn = true;
      this.attempts = 0;
      this.setState('syncing');
    } else if (f.Cmd === 23) {
      this.syncing = false;
      if ((f as { More?: boolean }).More || this.syncAgain) {
        this.syncAgain = false;
        this.requestSync();
      } else {
        this.setState('online');
        this.flushPending();
      }
    } else if (f.Cmd === 18 && f.ClientMsgId) {
      const ack = { Id: f.Id!, ConvId: f.ConvId!, Seq: f.Seq!, Time: f.Time ?? now };
      const pending = this.pending.get(f.ClientMsgId);
      this.answer(f.ClientMsgId, ack);
      // The own message takes its place in the conversation's order, as it would for another device.
      if (pending) this.deliver(String(ack.ConvId), ack.Seq, { Cmd: pending.frame.Ope === 1 ? 10 : 6, FromId: 0, ToId: pending.frame.ToId as number, Ope: pending.frame.Ope as number, Type: pending.frame.Type as number, Body: pending.frame.Body as string, Id: ack.Id, ConvId: ack.ConvId, Seq: ack.Seq, Time: ack.Time, own: true, ...(typeof pending.frame.ReplyTo === 'number' ? { ReplyTo: pending.frame.ReplyTo } : {}) }, now, false);
    } else if (f.Cmd === 2) {
      this.onFail(f);
    } else if (f.Cmd === 24) {
      this.requestSync();
    } else if (f.Cmd === 26) {
      // The node is going away: reconnect (elsewhere) at the time it gave, before it closes us.
      const ws = this.ws;
      this.later(Number(f.Body) || 0, () => {
        if (this.ws === ws) ws?.close(4000, 'moving');
      });
    } else if (f.Cmd === 19) {
      this.emit('presence', { userId: f.FromId, online: f.Body === 'online' });
    } else if (f.Cmd === 21) {
      this.emit('read', { userId: f.FromId, convId: f.ConvId!, seq: f.Seq! });
    } else if (f.Cmd === 28) {
      this.emit('typing', { userId: f.FromId, toId: f.ToId, ope: f.Ope === 1 ? 1 : 0 });
    }
  }

  private onFail(f: ServerFrame): void {
    if (f.ClientMsgId) {
      const p = this.pending.get(f.ClientMsgId);
      if (!p) return;
      if (RETRY_CODES.has(f.Code ?? 0)) {
        p.dueAt = Date.now() + 1000; // again in about a second
        return;
      }
      this.pending.delete(f.ClientMsgId);
      p.reject(Object.assign(new Error(f.Body), { code: f.Code, reason: f.Reason }));
    } else if (!this.signedIn) {
      this.emit('error', new Error(`sign-in refused: ${f.Body}`));
    } else if (this.syncing) {
      // The sync died without Cmd 23: ask again shortly.
      this.syncing = false;
      this.later(500, () => this.requestSync());
    }
  }

  private deliver(conv: string, seq: number, item: MessageFrame, now: number, inOrder = true): void {
    let gate = this.gates.get(conv);
    if (!gate) this.gates.set(conv, (gate = new StreamGate<MessageFrame>()));
    for (const m of gate.take(seq, item, now, inOrder)) this.emit('message', m);
    this.queueSave();
  }

  private answer(clientMsgId: string, ack: SendAck): void {
    const p = this.pending.get(clientMsgId);
    if (!p) return;
    this.pending.delete(clientMsgId);
    p.resolve(ack);
  }

  private write(clientMsgId: string): void {
    const p = this.pending.get(clientMsgId);
    if (!p || !this.ws || this.ws.readyState !== OPEN) return;
    p.dueAt = Date.now() + (this.options.sendTimeoutMs ?? 10_000);
    this.ws.send(JSON.stringify(p.frame));
  }

  private flushPending(): void {
    for (const [id, p] of this.pending) if (p.dueAt === 0) this.write(id);
  }

  /** Every 250 ms: sends unanswered too long go again; a gap waited on too long asks for a sync. */
  private tick(): void {
    if (!this.signedIn || this.syncing) return;
    const now = Date.now();
    for (const [id, p] of this.pending) if (p.dueAt <= now) this.write(id);
    const wait = this.options.gapWaitMs ?? 1000;
    const gapped = [...this.gates.values(), this.events].some((g) => g.gapSince > 0 && now - g.gapSince > wait);
    if (gapped) this.requestSync();
  }

  private reconnectNow(): void {
    if (this.ws || !this.running) return;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.attempts = 0;
    this.connect();
  }

  private queueSave(): void {
    if (this.saveQueued) return;
    this.saveQueued = true;
    this.later(200, () => {
      this.saveQueued = false;
      void Promise.resolve(this.store.save(this.cursors())).catch((err: unknown) => this.emit('error', err as Error));
    });
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private setState(state: ClientEvents['state']): void {
    this.emit('state', state);
  }
}
