import WebSocket from 'ws';
import { StreamCursors } from './cursors.js';
import type { AckRecord, DeviceRecord } from './records.js';

interface PendingSend { clientMsgId: string; frame: string; attempts: number; lastSentAt: number; socketNo: number; retryAt: number; afterSocketLoss: boolean; onAck?: () => void }

const ANSWER_TIMEOUT_MS = 10_000;
const SIGN_IN_TIMEOUT_MS = 10_000;
const STUCK_SYNC_MS = 30_000;
const jitter = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const STREAM_CMDS = new Set([6, 7, 10, 11]);
/** Events of conversation streams (edits, reactions, group events): held in the cursors, not checked as messages. */
const STREAM_EVENT_CMDS = new Set([29, 30, 31]);
/** Declared at sign-in, as a client that tracks seqs does (docs/protocol.md): their events share its streams. */
const STREAM_FEATURES = ['edit', 'reactions', 'group-events'];
const EVENT_CMDS = new Set([8, 9, 12, 13, 14, 25]);

/** Retryable answers: the server asks to try again (the same ClientMsgId). */
function retryable(frame: { Body?: unknown; Code?: unknown }): boolean {
  const body = typeof frame.Body === 'string' ? frame.Body : '';
  return frame.Code === 1503 || frame.Code === 1005 || body.startsWith('service temporarily unavailable') || body.startsWith('too many requests');
}

/**
 * A client that does only what docs/protocol.md asks of one: it signs in with Sync from its
 * cursors, follows `More`, syncs (Cmd 22) on Cmd 24 and after a failed sync, resends unanswered
 * sends with the same ClientMsgId, and reconnects (home node first) 200–500 ms after its socket
 * closes (1–1.5 s after a 1013, "database out of reach during a sign-in or sync"). It
 * never syncs because a seq skipped and never syncs periodically, so every loss the server does
 * not repair by itself stays visible. Per conversation its cursor is the highest seq below which
 * it holds everything (received frames plus its own acked sends), from where the stream starts for
 * it (StreamCursors); a stream missing counts as 0. It declares the features whose events share
 * its streams (group joins, edits, reactions) and holds those events without checking them.
 */
export class Device {
  readonly rec: DeviceRecord;
  private ws: WebSocket | undefined;
  private socketNo = 0;
  private node = -1;
  private signedIn = false;
  private syncing = false;
  private syncAgain = false;
  private syncStartedAt = 0;
  private syncReported = false;
  private readonly cursors = new StreamCursors();
  private readonly pending = new Map<string, PendingSend>();
  private readonly answered = new Map<string, AckRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private ticker: NodeJS.Timeout | undefined;
  private signInTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private msgNo = 0;
  /** Set by rehome(): no new sends until it is back on its home node (one attempt). */
  wantHome = false;
  private homeDeadline = 0;

  constructor(name: string, userId: number, private readonly token: string, home: number, private readonly nodeUrls: string[]) {
    this.rec = {
      name, userId, home, frames: [], acks: [], refusals: [], syncNeeded: [], syncFailures: [], signInFailures: [], connects: [],
      closes: [], retries: 0, timeouts: 0, ackConflicts: [], stuckSyncs: 0, sent: 0, unanswered: [], settledBySync: 0,
    };
  }

  start(): void {
    this.ticker = setInterval(() => this.tick(), 250);
    this.later(0, () => void this.connect());
  }

  get ready(): boolean {
    return this.signedIn && !this.syncing;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The node index the device is signed in on, or undefined. */
  get connectedNode(): number | undefined {
    return this.signedIn ? this.node : undefined;
  }

  /**
   * Queues a send and writes it now if signed in; resolves when written to the socket (or queued).
   * `onAck` runs when its Cmd 18 arrives (not for other answers).
   */
  send(toId: number, ope: 0 | 1, onAck?: () => void): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const clientMsgId = `${this.rec.name}-${++this.msgNo}`;
    const frame = JSON.stringify({ Cmd: 17, ToId: toId, Ope: ope, Type: 0, Body: `chaos ${clientMsgId}`, ClientMsgId: clientMsgId });
    const p: PendingSend = { clientMsgId, frame, attempts: 0, lastSentAt: 0, socketNo: 0, retryAt: 0, afterSocketLoss: false, onAck };
    this.pending.set(clientMsgId, p);
    this.rec.sent++;
    return this.signedIn ? this.transmit(p) : Promise.resolve();
  }

  /**
   * Asks the device to go back to its home node once it has nothing in flight (one attempt, given
   * up at `deadline`, so that a move never falls into a measurement window).
   */
  rehome(deadline: number): void {
    if (this.connectedNode === undefined || this.connectedNode === this.rec.home) return;
    this.wantHome = true;
    this.homeDeadline = deadline;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.ticker);
    clearTimeout(this.signInTimer);
    for (const t of this.timers) clearTimeout(t);
    const ws = this.ws;
    this.ws = undefined;
    ws?.terminate();
    this.rec.unanswered = [...this.pending.keys()];
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (!this.stopped) run();
    }, ms);
    this.timers.add(timer);
  }

  /** Home node first, then the others in turn; if none answers, again after 200–500 ms. */
  private async connect(): Promise<void> {
    const n = this.nodeUrls.length;
    for (let i = 0; i < n && !this.stopped; i++) {
      const node = (this.rec.home + i) % n;
      const ws = await open(this.nodeUrls[node]!);
      if (!ws) continue;
      if (this.stopped) return void ws.terminate();
      return this.attach(ws, node);
    }
    this.later(jitter(200, 500), () => void this.connect());
  }

  private attach(ws: WebSocket, node: number): void {
    if (ws.readyState !== WebSocket.OPEN) return void this.later(jitter(200, 500), () => void this.connect());
    const socketNo = ++this.socketNo;
    this.ws = ws;
    this.node = node;
    this.signedIn = false;
    this.rec.connects.push({ at: Date.now(), node, socketNo });
    ws.on('message', (data) => {
      if (this.ws === ws) this.onFrame(ws, socketNo, JSON.parse(data.toString()) as Record<string, any>);
    });
    ws.on('close', (code) => this.onClose(ws, socketNo, code));
    this.beginSync();
    ws.send(JSON.stringify({ Cmd: 3, Body: this.token, Features: STREAM_FEATURES, Sync: this.cursors.position() }));
    this.signInTimer = setTimeout(() => {
      if (this.ws === ws && !this.signedIn) {
        this.rec.signInFailures.push({ at: Date.now(), body: 'no Cmd 4 within 10 s' });
        ws.terminate();
      }
    }, SIGN_IN_TIMEOUT_MS);
  }

  private onClose(ws: WebSocket, socketNo: number, code: number): void {
    if (this.ws !== ws) return;
    this.rec.closes.push({ at: Date.now(), code, socketNo });
    this.ws = undefined;
    this.signedIn = false;
    this.syncing = false;
    this.syncAgain = false;
    clearTimeout(this.signInTimer);
    for (const p of this.pending.values()) {
      if (p.socketNo === socketNo) p.afterSocketLoss = true;
      p.socketNo = 0; // not on any socket: written again once signed in
    }
    this.wantHome = false;
    // 1013: the database was out of reach during the sign-in or sync: "reconnect after a second".
    const delay = code === 1013 ? jitter(1000, 1500) : jitter(200, 500);
    if (!this.stopped) this.later(delay, () => void this.connect());
  }

  private onFrame(ws: WebSocket, socketNo: number, f: Record<string, any>): void {
    const now = Date.now();
    const cmd = f.Cmd as number;
    if (STREAM_CMDS.has(cmd)) {
      this.rec.frames.push({ convId: f.ConvId, seq: f.Seq, id: f.Id, live: !this.syncing, at: now, socketNo });
      this.cursors.hold(f.ConvId, f.Seq);
      // One of its own sends, cut off by a reconnect before its answer: the sync's frame of it
      // carries its ClientMsgId and is its answer (docs/protocol.md); it is not sent again.
      if (typeof f.ClientMsgId === 'string') this.settledBySync(f.ClientMsgId, f);
    } else if (STREAM_EVENT_CMDS.has(cmd)) {
      this.cursors.hold(f.ConvId, f.Seq);
    } else if (EVENT_CMDS.has(cmd)) {
      if (typeof f.EventSeq === 'number') this.cursors.holdEvent(f.EventSeq);
    } else if (cmd === 4) {
      this.signedIn = true;
      clearTimeout(this.signInTimer);
      // Unanswered sends go again once the sign-in sync is done (it may answer them).
      this.flushPending();
    } else if (cmd === 18) {
      this.onAck(f, now);
    } else if (cmd === 2) {
      if (typeof f.ClientMsgId === 'string') this.onRefused(f, now);
      else if (!this.signedIn) {
        this.rec.signInFailures.push({ at: now, body: String(f.Body) });
        ws.terminate();
      } else if (this.syncing) {
        // The sync died without Cmd 23: the server held nothing back for it; ask again shortly.
        this.rec.syncFailures.push({ at: now, body: String(f.Body) });
        this.syncing = false;
        this.syncAgain = false;
        this.later(jitter(300, 1000), () => {
          if (this.ws === ws && this.signedIn && !this.syncing) this.requestSync();
        });
      }
    } else if (cmd === 23) {
      if (f.More === true) ws.send(JSON.stringify({ Cmd: 22, Token: f.Body }));
      else {
        this.syncing = false;
        this.flushPending();
        if (this.syncAgain) {
          this.syncAgain = false;
          this.requestSync();
        }
      }
    } else if (cmd === 24) {
      this.rec.syncNeeded.push(now);
      if (this.syncing) this.syncAgain = true;
      else if (this.signedIn) this.requestSync();
    }
  }

  private onAck(f: Record<string, any>, at: number): void {
    const clientMsgId = String(f.ClientMsgId);
    const p = this.pending.get(clientMsgId);
    const prev = this.answered.get(clientMsgId);
    if (prev) {
      if (prev.id !== f.Id || prev.seq !== f.Seq || prev.convId !== f.ConvId) this.rec.ackConflicts.push(`${clientMsgId}: ${prev.id}/${prev.convId}/${prev.seq} then ${f.Id}/${f.ConvId}/${f.Seq}`);
      return;
    }
    // An ack after a final refusal (an earlier attempt's answer) still tells where the message is.
    this.pending.delete(clientMsgId);
    const ack: AckRecord = { clientMsgId, id: f.Id, convId: f.ConvId, seq: f.Seq, at, attempts: p?.attempts ?? 0, afterSocketLoss: p?.afterSocketLoss ?? false };
    this.answered.set(clientMsgId, ack);
    this.rec.acks.push(ack);
    this.cursors.hold(ack.convId, ack.seq, false);
    p?.onAck?.();
  }

  private settledBySync(clientMsgId: string, f: Record<string, any>): void {
    if (!this.pending.delete(clientMsgId) || this.answered.has(clientMsgId)) return;
    // Remembered so that a late Cmd 18 of an earlier attempt is not taken for a second answer.
    this.answered.set(clientMsgId, { clientMsgId, id: f.Id, convId: f.ConvId, seq: f.Seq, at: Date.now(), attempts: 0, afterSocketLoss: true });
    this.rec.settledBySync++;
  }

  private onRefused(f: Record<string, any>, at: number): void {
    const p = this.pending.get(f.ClientMsgId);
    if (!p) return; // a late answer to an attempt already answered
    if (retryable(f)) {
      this.rec.retries++;
      p.socketNo = 0;
      p.retryAt = at + jitter(300, 1000);
      return;
    }
    this.pending.delete(p.clientMsgId);
    this.rec.refusals.push({ clientMsgId: p.clientMsgId, body: String(f.Body), code: typeof f.Code === 'number' ? f.Code : undefined, at });
  }

  private tick(): void {
    const now = Date.now();
    if (this.syncing && !this.syncReported && now - this.syncStartedAt > STUCK_SYNC_MS) {
      this.syncReported = true;
      this.rec.stuckSyncs++;
    }
    if (!this.signedIn) return;
    for (const p of this.pending.values()) {
      if (p.socketNo === this.socketNo && now - p.lastSentAt > ANSWER_TIMEOUT_MS) {
        this.rec.timeouts++;
        void this.transmit(p);
      }
    }
    this.flushPending();
    if (this.wantHome) {
      if (this.node === this.rec.home || now > this.homeDeadline) this.wantHome = false;
      else if (this.pending.size === 0 && !this.syncing) this.ws?.close(1000, 'rehome');
    }
  }

  /** Writes every pending send not yet on this socket whose retry time has come. */
  private flushPending(): void {
    // During a sync (the sign-in's above all) a pending send may be answered by its own frame.
    if (this.syncing) return;
    const now = Date.now();
    for (const p of this.pending.values()) if (p.socketNo !== this.socketNo && now >= p.retryAt) void this.transmit(p);
  }

  private transmit(p: PendingSend): Promise<void> {
    const ws = this.ws;
    if (!ws || !this.signedIn) return Promise.resolve();
    p.attempts++;
    p.lastSentAt = Date.now();
    p.socketNo = this.socketNo;
    return new Promise((resolve) => ws.send(p.frame, () => resolve()));
  }

  private beginSync(): void {
    this.syncing = true;
    this.syncStartedAt = Date.now();
    this.syncReported = false;
  }

  private requestSync(): void {
    this.beginSync();
    this.ws?.send(JSON.stringify({ Cmd: 22, ...this.cursors.position() }));
  }
}

/** Opens a socket (2 s handshake limit); undefined when the node does not answer. */
function open(url: string): Promise<WebSocket | undefined> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { handshakeTimeout: 2000 });
    ws.on('error', () => resolve(undefined)); // stays attached: later errors end in 'close'
    ws.once('open', () => resolve(ws));
    ws.once('close', () => resolve(undefined));
  });
}
