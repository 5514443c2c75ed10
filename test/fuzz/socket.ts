import fc from 'fast-check';
import WebSocket from 'ws';
import { errorReasons, type Reason } from '../../src/errors.js';
import { type Entries, jsonText } from './cases.js';
import { badCursors, badSyncToken, clientMsgIdKind, messageBodyKind } from './kinds.js';
import { assertNoLeak } from './leaks.js';
import { extraFields, type FieldKind, idKind, nonScalarJunk, seqKind, someString, textOf } from './values.js';
import { type BadTokenName, type World } from './world.js';

/**
 * Refused socket frames (docs/protocol.md). Each goes to the signed-in socket of the world's `me`
 * (followed by a Cmd 15, whose Cmd 16 shows the frame was dealt with), or to a fresh socket that
 * has not signed in. The answer must be Cmd 2 (with no internal error's code and nothing internal
 * in its Body) or a close with a documented code, never Cmd 4, 18 or 23, and nothing is stored.
 */
export interface SocketCase {
  why: string;
  /** On `me`'s signed-in socket, or on a fresh one that has not signed in. */
  signedIn: boolean;
  /** The frame's text; `"@token:<name>"` stands for that token (`me` or a bad one). */
  frame: string | { binary: number[] };
  /** Close codes the socket may be closed with. */
  closes: number[];
}

const BAD_CLOSES = [4009, 1009];

/** A frame with fields `required` and `optional`, at least one of them refused. */
function brokenFrame(cmd: number, required: Record<string, FieldKind>, optional: Record<string, FieldKind> = {}): fc.Arbitrary<string> {
  const fields = { ...required, ...optional };
  const names = Object.keys(fields);
  return fc
    .tuple(fc.subarray(names, { minLength: 1 }), fc.array(fc.boolean(), { minLength: names.length, maxLength: names.length }), extraFields([...names, 'Cmd']))
    .chain(([broken, keep, extra]) =>
      fc.tuple(...names.map((n, i) => {
        if (broken.includes(n)) return n in required ? fc.option(fields[n]!.invalidJson, { nil: undefined, freq: 5 }) : fields[n]!.invalidJson;
        return n in required || keep[i] ? fields[n]!.valid : fc.constant(undefined);
      })).map((values) => {
        const entries: Entries = [['Cmd', cmd]];
        names.forEach((n, i) => values[i] !== undefined && entries.push([n, values[i]]));
        return jsonText([...entries, ...extra]);
      }));
}

const frameOf = (entries: Entries) => jsonText(entries);

export function socketTargets(w: World): Array<{ name: string; cases: fc.Arbitrary<SocketCase> }> {
  const signed = (why: string, closes: number[] = BAD_CLOSES) => (frame: string): SocketCase => ({ why, signedIn: true, frame, closes });
  const fresh = (why: string, closes: number[] = BAD_CLOSES) => (frame: string): SocketCase => ({ why, signedIn: false, frame, closes });
  const friendOrGroup = fc.constantFrom(w.friend.user.id, w.ownGroup, w.joinedGroup);
  const ope: FieldKind = { valid: fc.constantFrom(0, 1), invalidJson: fc.constantFrom(2, -1, '0', '1', null, 0.5, true, 'friend', 1e308, [0]), invalidForm: fc.constant('') };
  const type: FieldKind = {
    valid: fc.constantFrom(0, 10),
    invalidJson: fc.oneof(fc.constantFrom(5, 7, 8, 9, 11, -1, 2 ** 31, 2 ** 53, 0.5, '0', null, true, [0]), nonScalarJunk),
    invalidForm: fc.constant(''),
  };
  const send = { ToId: idKind(friendOrGroup), Ope: ope, Type: type, Body: messageBodyKind(textOf(1, 20)) };
  const conv = idKind(fc.constantFrom(w.myConversation, w.groupConversation, w.foreignConversation, ...w.ghostIds));
  const token: FieldKind = { valid: fc.constant(''), invalidJson: fc.oneof(badSyncToken, nonScalarJunk, fc.constantFrom(5, 0)), invalidForm: badSyncToken };
  const cursors: FieldKind = { valid: fc.constantFrom({}, { [w.myConversation]: 0 }), invalidJson: fc.oneof(badCursors, badCursors.map((c) => JSON.stringify(c))), invalidForm: fc.constant('') };
  const sync = { Token: token, Cursors: cursors, EventSeq: seqKind() };
  const syncSpec: FieldKind = {
    valid: fc.constant({}),
    invalidJson: fc.oneof(fc.constantFrom(null, [], 'x', 5, true), brokenFrame(0, {}, sync).map((f) => {
      const spec = JSON.parse(f) as Record<string, unknown>;
      delete spec.Cmd;
      return spec;
    })),
    invalidForm: fc.constant(''),
  };
  const badTokenName = fc.constantFrom<BadTokenName>('expired', 'wrong-secret', 'alg-none', 'wrong-issuer', 'bad-subject', 'no-jti', 'revoked', 'ended', 'truncated', 'tampered');
  const garbageToken = fc.oneof(someString(60), fc.constantFrom('x', 'a.b.c', 'null', ' ', 'Bearer x')).filter((s) => s.length > 0);
  const ghostSend = fc.oneof(
    fc.constantFrom(w.requester.user.id, w.applicant.user.id, w.outsider.user.id, w.me.user.id, ...w.ghostIds).map((to) => frameOf([['Cmd', 17], ['ToId', to], ['Ope', 0], ['Type', 0], ['Body', 'hi']])),
    fc.constantFrom(w.foreignGroup, ...w.ghostIds).map((to) => frameOf([['Cmd', 17], ['ToId', to], ['Ope', 1], ['Type', 0], ['Body', 'hi']])),
  );
  const validFrames = fc.constantFrom(
    frameOf([['Cmd', 15]]),
    frameOf([['Cmd', 17], ['ToId', w.friend.user.id], ['Ope', 0], ['Type', 0], ['Body', 'before sign-in'], ['ClientMsgId', 'pre-1']]),
    frameOf([['Cmd', 17], ['ToId', w.ownGroup], ['Ope', 1], ['Type', 0], ['Body', 'before sign-in']]),
    frameOf([['Cmd', 20], ['ConvId', w.myConversation], ['Seq', 1]]),
    frameOf([['Cmd', 22], ['Cursors', {}], ['EventSeq', 0]]),
  );
  const notCmd = fc.constantFrom<unknown>('17', '3', null, 1.5, -1, 0, 1, 2, 4, 6, 7, 16, 18, 23, 24, 25, 99, 2 ** 53, 1e308, [17], { Cmd: 17 }, true, '');

  return [
    {
      name: 'Cmd 3 (sign in)',
      cases: fc.oneof(
        fc.oneof(nonScalarJunk, fc.constantFrom('', 0, 5), fc.constant('x'.repeat(4097))).map((body) => fresh('a malformed sign-in')(frameOf([['Cmd', 3], ['Body', body]]))),
        fc.oneof(badTokenName.map((n) => `@token:${n}`), garbageToken).map((t) => fresh('a bad token', [4002, ...BAD_CLOSES])(frameOf([['Cmd', 3], ['Body', t]]))),
        syncSpec.invalidJson.map((s) => fresh('a sign-in with bad cursors')(frameOf([['Cmd', 3], ['Body', '@token:me'], ['Sync', s]]))),
        fc.constant(signed('a second sign-in')(frameOf([['Cmd', 3], ['Body', '@token:me']]))),
      ),
    },
    { name: 'before sign-in', cases: validFrames.map(fresh('a frame before sign-in')) },
    { name: 'Cmd 17 (send)', cases: fc.oneof({ weight: 4, arbitrary: brokenFrame(17, send, { ClientMsgId: clientMsgIdKind() }) }, { weight: 1, arbitrary: ghostSend }).map(signed('a refused send')) },
    {
      name: 'Cmd 20 (read)',
      cases: fc.oneof(
        { weight: 4, arbitrary: brokenFrame(20, { ConvId: conv, Seq: seqKind() }) },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom(w.foreignConversation, ...w.ghostIds), fc.nat()).map(([c, s]) => frameOf([['Cmd', 20], ['ConvId', c], ['Seq', s]])) },
      ).map(signed('a refused read')),
    },
    { name: 'Cmd 22 (sync)', cases: brokenFrame(22, {}, sync).map(signed('a refused sync')) },
    {
      name: 'malformed frames',
      cases: fc.oneof(
        fc.oneof(someString(30), fc.constantFrom('', '{', 'null', '[]', '"x"', '17', '{"Cmd":}', '{"Cmd":17', '\u0000')).filter((s) => { try { const v = JSON.parse(s) as { Cmd?: unknown }; return v?.Cmd !== 15; } catch { return true; } }).map(signed('not a frame')),
        fc.tuple(notCmd, extraFields(['Cmd'])).map(([cmd, extra]) => signed('an unknown command')(frameOf([['Cmd', cmd], ...extra]))),
        extraFields(['Cmd']).map((extra) => signed('no command')(frameOf(extra))),
        fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b): SocketCase => ({ why: 'a binary frame', signedIn: true, frame: { binary: [...b] }, closes: BAD_CLOSES })),
        fc.constantFrom(70_000, 300_000).map((n) => signed('an oversized frame')(frameOf([['Cmd', 17], ['ToId', w.friend.user.id], ['Ope', 0], ['Type', 0], ['Body', 'x'.repeat(n)]]))),
      ),
    },
  ];
}

/** A socket that records what it receives. */
class Rec {
  readonly frames: Array<Record<string, unknown>> = [];
  closed: { code: number; reason: string } | undefined;
  private wake: Array<() => void> = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      this.notify();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.notify();
    });
    ws.on('error', () => {});
  }
  private notify() {
    for (const w of this.wake.splice(0)) w();
  }
  /** Waits until `done()` or the time is up; says which. */
  async until(done: () => boolean, ms = 5000): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.wake.push(() => { clearTimeout(t); r(); });
      });
    }
    return true;
  }
}

async function open(url: string): Promise<Rec> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws`);
  const rec = new Rec(ws);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return rec;
}

/** `me`'s signed-in socket, opened again whenever a case closed it. */
export class SocketRig {
  private signed: Rec | undefined;
  constructor(private readonly w: World) {}

  private async signedSocket(): Promise<Rec> {
    if (this.signed && !this.signed.closed) return this.signed;
    const rec = await open(this.w.node.url);
    rec.ws.send(JSON.stringify({ Cmd: 3, Body: this.w.me.token }));
    if (!(await rec.until(() => rec.frames.some((f) => f.Cmd === 4)))) throw new Error('the suite could not sign in');
    this.signed = rec;
    return rec;
  }

  private resolve(frame: SocketCase['frame']): string | Buffer {
    if (typeof frame !== 'string') return Buffer.from(frame.binary);
    return frame.replace(/"@token:([a-z-]+)"/g, (_m, name: string) => JSON.stringify(name === 'me' ? this.w.me.token : this.w.badTokens[name as BadTokenName]));
  }

  /** Sends the case's frame and checks the answer (property 1 for sockets). */
  async run(c: SocketCase): Promise<void> {
    const rec = c.signedIn ? await this.signedSocket() : await open(this.w.node.url);
    const mark = rec.frames.length;
    const after = () => rec.frames.slice(mark);
    const payload = this.resolve(c.frame);
    rec.ws.send(payload, { binary: typeof payload !== 'string' });
    try {
      if (c.signedIn) {
        rec.ws.send('{"Cmd":15}');
        const answered = await rec.until(() => rec.closed !== undefined || (after().some((f) => f.Cmd === 16) && after().some((f) => f.Cmd === 2)));
        if (!answered) throw new Error(`no Cmd 2 within 5 s; got ${JSON.stringify(after()).slice(0, 300)}`);
      } else {
        const answered = await rec.until(() => rec.closed !== undefined || after().some((f) => f.Cmd === 2));
        if (!answered) throw new Error(`no Cmd 2 within 5 s; got ${JSON.stringify(after()).slice(0, 300)}`);
        if (!rec.closed) {
          // Still not signed in: a frame now is refused too.
          const before = rec.frames.length;
          rec.ws.send('{"Cmd":15}');
          await rec.until(() => rec.closed !== undefined || rec.frames.length > before);
          const next = rec.frames[before];
          if (!rec.closed && !(next?.Cmd === 2 && next.Reason === 'sign_in_first')) throw new Error(`the socket was signed in: ${JSON.stringify(next)}`);
        }
      }
      for (const f of after()) {
        if (f.Cmd === 4 || f.Cmd === 18 || f.Cmd === 23) throw new Error(`a refused frame was acted on: Cmd ${f.Cmd} ${JSON.stringify(f).slice(0, 200)}`);
        if (f.Cmd === 2) {
          if (f.Code === 1500 || f.Code === 1503) throw new Error(`an internal error: ${JSON.stringify(f).slice(0, 300)}`);
          assertNoLeak(String(f.Body), 'Cmd 2');
          const reason = (f as { Reason?: unknown }).Reason;
          if (typeof reason !== 'string' || !Object.hasOwn(errorReasons, reason) || errorReasons[reason as Reason].code !== f.Code) throw new Error(`Cmd 2 without a catalog reason and its code: ${JSON.stringify(f).slice(0, 300)}`);
        }
      }
      if (rec.closed && !c.closes.includes(rec.closed.code)) throw new Error(`closed with ${rec.closed.code} (${rec.closed.reason}); expected ${c.closes.join(' or ') || 'no close'}`);
    } finally {
      if (!c.signedIn) rec.ws.terminate();
    }
  }

  close(): void {
    this.signed?.ws.terminate();
  }
}
