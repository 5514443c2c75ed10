import WebSocket from 'ws';
import { StreamCursors } from '../test/chaos/cursors.js';

/** Loopback source addresses the sockets rotate over (one address runs out of ports past ~25k). */
const SOURCE_ADDRESSES = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6', '127.0.0.7', '127.0.0.8', '127.0.0.9'];
const ANSWER_TIMEOUT_MS = 10_000;
/** A connection waiting in a busy node's accept queue is waited for, not abandoned and tried again. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
const SIGN_IN_TIMEOUT_MS = 30_000;
const jitter = (lo: number, hi: number) => lo + Math.random() * (hi - lo);

/**
 * Everything one device saw, as flat number arrays (cheap to keep for 15,000 devices and to send
 * over IPC). Times are Date.now() ms.
 */
export interface DeviceLog {
  userId: number;
  /** Friend-conversation frames (Cmd 6), 5 numbers each: id, seq, socketNo, from me (0/1), in a sync (0/1). */
  frames: number[];
  /** Sign-ins (Cmd 4), 4 each: at, node, socketNo, the cursor presented for the friend conversation. */
  signIns: number[];
  /** Closes, 4 each: at, code, node, socketNo (a socket that never opened: code -1). */
  closes: number[];
  /** Connection attempts, 6 each: started, opened, Cmd 4, sign-in sync done (Cmd 23), node, TCP connected (-1: never came). */
  attempts: number[];
  /** Cmd 26 notices, 3 each: at, Body (ms until the close), node. */
  moves: number[];
  /** Acked sends, 2 each: msgNo, message id (an own frame in a sync that answered a cut-off send counts too). */
  acks: number[];
  /** Messages this device was asked to send (msgNo 1..sent). */
  sent: number;
  /** Final refusals (Cmd 2 with ClientMsgId, not retryable): msgNo each. */
  refused: number[];
  /** Sends written again: after a retryable refusal, after 10 s unanswered, or after the socket closed unanswered. */
  resends: number;
  /** msgNos still unanswered when the report was taken. */
  unanswered: number[];
  /** Signed in, its sign-in sync done, when the report was taken. */
  ready: boolean;
}

interface Pending { msgNo: number; frame: string; socketNo: number; sentAt: number; retryAt: number; attempts: number }

/** Picks the node a device connects to next (the bench's load balancer); -1 when none is live. */
export type NodePicker = (exclude: number) => number;

/**
 * A client that does what docs/protocol.md asks: signs in with `Sync` from its cursors, follows
 * `More`, syncs on Cmd 24, resends unanswered sends with the same ClientMsgId after the sign-in
 * sync, and moves when its node tells it to: on Cmd 26 it waits for the close (1012) the notice
 * announced and reconnects at once to another live node (the picker's choice, never the node it
 * leaves); if the node has not closed the socket 2 s after the announced time, it closes it itself.
 * Other closes, and failed attempts, reconnect after 200–500 ms, backing off (doubling up to 8 s)
 * while attempts keep failing; an attempt waits up to 30 s for the upgrade and for Cmd 4.
 */
export class Device {
  readonly log: DeviceLog;
  private ws: WebSocket | undefined;
  private node = -1;
  private socketNo = 0;
  private signedIn = false;
  private syncing = false;
  private syncAgain = false;
  private convId = 0;
  private msgNo = 0;
  private stopped = false;
  private readonly cursors = new StreamCursors();
  private readonly pending = new Map<number, Pending>();
  private readonly answered = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private moveTimer: NodeJS.Timeout | undefined;
  /** Connection attempts that failed in a row (the retry backs off). */
  private failures = 0;
  /** The friend-conversation cursor the current socket's sign-in presented. */
  private presented = 0;

  constructor(
    readonly index: number,
    userId: number,
    private readonly token: string,
    readonly friendId: number,
    private readonly urls: readonly string[],
    private readonly pick: NodePicker,
  ) {
    this.log = { userId, frames: [], signIns: [], attempts: [], closes: [], moves: [], acks: [], sent: 0, refused: [], resends: 0, unanswered: [], ready: false };
  }

  get ready(): boolean {
    return this.signedIn && !this.syncing;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** The node of the open socket, or -1. */
  get at(): number {
    return this.ws ? this.node : -1;
  }

  /** Opens the first socket on `node`; resolves true once signed in (Cmd 4), false if that failed. */
  open(node: number): Promise<boolean> {
    return new Promise((resolve) => this.connect(node, resolve));
  }

  /** Queues a message to the friend; written now if signed in and not syncing, else after the sync. */
  send(): void {
    if (this.stopped) return;
    const msgNo = ++this.msgNo;
    this.log.sent = msgNo;
    const frame = `{"Cmd":17,"ToId":${this.friendId},"Ope":0,"Type":0,"Body":"r${msgNo}","ClientMsgId":"r-${this.log.userId}-${msgNo}"}`;
    const p: Pending = { msgNo, frame, socketNo: 0, sentAt: 0, retryAt: 0, attempts: 0 };
    this.pending.set(msgNo, p);
    if (this.ready) this.write(p);
  }

  /** Once a second from the load process: resends what went unanswered for 10 s or is due a retry. */
  tick(now: number): void {
    if (!this.ready) return;
    for (const p of this.pending.values()) {
      if (p.socketNo === this.socketNo && now - p.sentAt > ANSWER_TIMEOUT_MS) this.write(p);
      else if (p.socketNo !== this.socketNo && now >= p.retryAt) this.write(p);
    }
  }

  stop(): DeviceLog {
    this.log.ready = this.ready;
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.moveTimer);
    this.ws?.terminate();
    this.log.unanswered = [...this.pending.keys()];
    return this.log;
  }

  private connect(node: number, signedIn?: (ok: boolean) => void): void {
    if (this.stopped) return;
    if (node < 0) return this.retryLater(undefined, signedIn);
    const socketNo = ++this.socketNo;
    const attempt = this.log.attempts.push(Date.now(), -1, -1, -1, node, -1) - 6;
    const ws = new WebSocket(this.urls[node]!, {
      localAddress: SOURCE_ADDRESSES[(this.index + socketNo) % SOURCE_ADDRESSES.length],
      perMessageDeflate: false,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    });
    (ws as unknown as { _req?: import('node:http').ClientRequest })._req?.once('socket', (socket) => {
      socket.once('connect', () => (this.log.attempts[attempt + 5] = Date.now()));
    });
    this.ws = ws;
    this.node = node;
    this.signedIn = false;
    this.syncing = true;
    this.syncAgain = false;
    let opened = false;
    const signInTimer = setTimeout(() => ws.terminate(), SIGN_IN_TIMEOUT_MS);
    ws.once('open', () => {
      opened = true;
      this.log.attempts[attempt + 1] = Date.now();
      const sync = this.cursors.position();
      this.presented = sync.Cursors[String(this.convId)] ?? 0;
      ws.send(JSON.stringify({ Cmd: 3, Body: this.token, Sync: sync }));
    });
    ws.on('message', (data: Buffer) => {
      if (this.ws !== ws) return;
      const f = JSON.parse(data.toString()) as Record<string, any>;
      if (f.Cmd === 4) {
        clearTimeout(signInTimer);
        this.signedIn = true;
        this.failures = 0;
        this.log.attempts[attempt + 2] = Date.now();
        this.log.signIns.push(Date.now(), node, socketNo, this.presented);
        signedIn?.(true);
        signedIn = undefined;
      } else {
        if (f.Cmd === 23 && f.More !== true && this.log.attempts[attempt + 3] === -1) this.log.attempts[attempt + 3] = Date.now();
        this.onFrame(ws, socketNo, f);
      }
    });
    ws.on('error', () => {});
    ws.once('close', (code: number) => {
      clearTimeout(signInTimer);
      if (this.ws !== ws) return;
      this.log.closes.push(Date.now(), opened ? code : -1, node, socketNo);
      this.ws = undefined;
      this.signedIn = false;
      this.syncing = false;
      for (const p of this.pending.values()) p.socketNo = 0;
      clearTimeout(this.timer);
      clearTimeout(this.moveTimer);
      signedIn?.(false);
      signedIn = undefined;
      // Told to move (1012 after Cmd 26): straight to another live node, as the notice asks.
      if (code === 1012) this.connect(this.pick(node));
      else this.retryLater(node);
    });
  }

  /** After a failed attempt or an unasked close: 200–500 ms, doubling with each failure in a row up to 8 s (jittered). */
  private retryLater(leaving: number | undefined, signedIn?: (ok: boolean) => void): void {
    signedIn?.(false);
    const base = Math.min(8000, 500 * 2 ** this.failures++);
    this.timer = setTimeout(() => this.connect(this.pick(leaving ?? -1)), jitter(base * 0.4, base));
  }

  private onFrame(ws: WebSocket, socketNo: number, f: Record<string, any>): void {
    switch (f.Cmd) {
      case 6: {
        this.convId = f.ConvId;
        const mine = f.FromId === this.log.userId;
        this.log.frames.push(f.Id, f.Seq, socketNo, mine ? 1 : 0, this.syncing ? 1 : 0);
        this.cursors.hold(f.ConvId, f.Seq);
        // An own send cut off by a reconnect: its frame in the sync is its answer (docs/protocol.md).
        if (mine && typeof f.ClientMsgId === 'string') {
          const msgNo = Number(f.ClientMsgId.slice(f.ClientMsgId.lastIndexOf('-') + 1));
          if (this.pending.delete(msgNo) && !this.answered.has(msgNo)) {
            this.answered.add(msgNo);
            this.log.acks.push(msgNo, f.Id);
          }
        }
        return;
      }
      case 18: {
        const msgNo = Number(String(f.ClientMsgId).slice(String(f.ClientMsgId).lastIndexOf('-') + 1));
        this.convId = f.ConvId;
        this.cursors.hold(f.ConvId, f.Seq);
        this.pending.delete(msgNo);
        if (this.answered.has(msgNo)) return;
        this.answered.add(msgNo);
        this.log.acks.push(msgNo, f.Id);
        return;
      }
      case 2: {
        if (typeof f.ClientMsgId !== 'string') {
          // A sync that failed without Cmd 23: ask again shortly.
          if (this.syncing && this.signedIn) {
            this.syncing = false;
            this.timer = setTimeout(() => this.requestSync(ws), jitter(300, 1000));
          }
          return;
        }
        const msgNo = Number(f.ClientMsgId.slice(f.ClientMsgId.lastIndexOf('-') + 1));
        const p = this.pending.get(msgNo);
        if (!p) return;
        if (f.Code === 1503 || f.Code === 1005) {
          p.socketNo = 0;
          p.retryAt = Date.now() + jitter(300, 1000);
        } else {
          this.pending.delete(msgNo);
          this.log.refused.push(msgNo);
        }
        return;
      }
      case 23:
        if (f.More === true) return void ws.send(JSON.stringify({ Cmd: 22, Token: f.Body }));
        this.syncing = false;
        if (this.syncAgain) return this.requestSync(ws);
        for (const p of this.pending.values()) if (p.socketNo !== this.socketNo) this.write(p);
        return;
      case 24:
        if (this.syncing) this.syncAgain = true;
        else if (this.signedIn) this.requestSync(ws);
        return;
      case 26: {
        const ms = Number(f.Body);
        this.log.moves.push(Date.now(), ms, this.node);
        clearTimeout(this.moveTimer);
        // The node closes the socket itself; only if it has not 2 s after the time it named.
        this.moveTimer = setTimeout(() => {
          if (this.ws === ws) ws.close(1000, 'moving');
        }, ms + 2000);
        return;
      }
      default:
    }
  }

  private requestSync(ws: WebSocket): void {
    if (this.ws !== ws || !this.signedIn) return;
    this.syncing = true;
    this.syncAgain = false;
    ws.send(JSON.stringify({ Cmd: 22, ...this.cursors.position() }));
  }

  private write(p: Pending): void {
    if (p.attempts > 0) this.log.resends++;
    p.attempts++;
    p.socketNo = this.socketNo;
    p.sentAt = Date.now();
    this.ws!.send(p.frame);
  }
}
