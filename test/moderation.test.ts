import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signHookCall } from '../src/modules/moderation/index.js';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { featuredSocket, settle, type TestSocket } from './helpers/ws.js';

const SECRET = 'hook-secret-of-at-least-32-characters!';

/**
 * A business's receiver for the before-send hook: checks the signature as a receiver must, records
 * each call, and answers by what the body says (REJECT, REWRITE, BROKEN: 500; SLOW: not until
 * `release`, then "reject", so a message stored as sent proves the hook's timeout let it through).
 */
function hookReceiver() {
  const calls: Array<{ message: Record<string, unknown>; signed: boolean }> = [];
  const held: Array<() => void> = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const signed = req.headers['x-weim-signature'] === signHookCall(SECRET, String(req.headers['x-weim-timestamp']), String(req.headers['x-weim-delivery']), raw);
      const message = JSON.parse(raw) as { body: string };
      calls.push({ message, signed });
      const answer = (body: unknown, status = 200) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (message.body.includes('REJECT')) answer({ action: 'reject', reason: 'spam' });
      else if (message.body.includes('REWRITE')) answer({ action: 'rewrite', body: '[rewritten]' });
      else if (message.body.includes('SLOW')) held.push(() => answer({ action: 'reject', reason: 'too late' }));
      else if (message.body.includes('BROKEN')) answer({ error: 'boom' }, 500);
      else answer({ action: 'allow' });
    });
  });
  const release = () => {
    for (const answer of held.splice(0)) answer();
  };
  return { calls, server, release, url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/check` };
}

describe.each(testDialects())('moderation (before-send hook, word filter) on %s', (dialect) => {
  const receiver = hookReceiver();
  const words = join(mkdtempSync(join(tmpdir(), 'weim-words-')), 'words.txt');
  /** `strict`: hook failures refuse, words refuse. `lenient`: hook failures allow, words are masked. */
  let strict: TestNode;
  let lenient: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    writeFileSync(words, '# words nobody may write\nbadword\n坏词\n');
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    const hook = { WEIM_HOOKS_BEFORE_SEND_URL: receiver.url(), WEIM_HOOKS_SECRET: SECRET, WEIM_HOOKS_BEFORE_SEND_TIMEOUT_MS: '200', WEIM_FILTER_WORDS_FILE: words };
    strict = await startTestNode(dialect, { ...hook, WEIM_HOOKS_BEFORE_SEND_ON_FAILURE: 'reject', WEIM_FILTER_MODE: 'reject' });
    lenient = await startTestNode(dialect, { ...hook, WEIM_HOOKS_BEFORE_SEND_ON_FAILURE: 'allow', WEIM_FILTER_MODE: 'mask' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await strict.stop();
    await lenient.stop();
    receiver.release();
    receiver.server.close();
  });
  const stored = async (t: TestNode, senderId: number) =>
    (await t.dbh.db.selectFrom('messages').select(['body']).where('sender_id', '=', senderId).orderBy('id').execute()).map((r) => r.body);
  const send = (t: TestNode, from: { token: string }, to: number, body: string) => post(t.api, '/im/chat/send/user', { to_uid: to, type: 0, body }, { token: from.token });

  it('allow, reject (403 / 1008 with the reason) and rewrite, over HTTP and the socket; each call signed', async () => {
    const { a, b } = await makeFriends(strict.api);
    const peer = await featuredSocket(strict.url, b.token);
    open.push(peer);
    const before = receiver.calls.length;
    expect((await send(strict, a, b.user.id, 'hello')).code).toBe(0);
    const rejected = await send(strict, a, b.user.id, 'buy now REJECT');
    expect([rejected.status, rejected.code, rejected.msg]).toEqual([403, 1008, 'message rejected: spam']);
    const rewritten = await send(strict, a, b.user.id, 'please REWRITE me');
    expect(rewritten.code).toBe(0);
    expect(await peer.next((f) => f.Cmd === 6 && f.Id === rewritten.data.id)).toMatchObject({ Body: '[rewritten]' });
    const s = await featuredSocket(strict.url, a.token);
    open.push(s);
    s.send({ Cmd: 17, ToId: b.user.id, Ope: 0, Type: 0, Body: 'REJECT over the socket', ClientMsgId: 'r-1' });
    expect(await s.next((f) => f.Cmd === 2)).toMatchObject({ Code: 1008, Body: 'message rejected: spam', ClientMsgId: 'r-1' });
    expect(await stored(strict, a.user.id)).toEqual(['hello', '[rewritten]']);
    const calls = receiver.calls.slice(before);
    expect(calls.map((c) => c.message.body)).toEqual(['hello', 'buy now REJECT', 'please REWRITE me', 'REJECT over the socket']);
    expect(calls.every((c) => c.signed)).toBe(true);
    expect(calls[0]!.message).toEqual({ from_id: a.user.id, to_id: b.user.id, ope: 0, type: 0, body: 'hello', client_msg_id: null, reply_to: null, mentions: null, edit_of: null });
    // An edit goes through the hook too.
    const edit = await post(strict.api, '/im/chat/edit/user', { message_id: rewritten.data.id, body: 'now REJECT' }, { token: a.token });
    expect([edit.status, edit.code]).toEqual([403, 1008]);
    expect(receiver.calls.at(-1)!.message).toMatchObject({ edit_of: rewritten.data.id });
  });

  it("the hook sees only messages their senders may send: a stranger's is refused before it is asked", async () => {
    const a = await registerUser(strict.api);
    const stranger = await registerUser(strict.api);
    const before = receiver.calls.length;
    const refused = await send(strict, stranger, a.user.id, 'hello stranger');
    expect([refused.status, refused.code]).toEqual([403, 1003]);
    expect(receiver.calls.length).toBe(before);
    expect(await stored(strict, stranger.user.id)).toEqual([]);
  });

  it('a hook that times out or fails: reject mode refuses (503 / 1503) and stores nothing; allow mode stores the message as sent', async () => {
    const strictPair = await makeFriends(strict.api);
    for (const body of ['SLOW answer', 'BROKEN answer']) {
      const refused = await send(strict, strictPair.a, strictPair.b.user.id, body);
      expect([refused.status, refused.code], body).toEqual([503, 1503]);
    }
    expect(await stored(strict, strictPair.a.user.id)).toEqual([]);
    const lenientPair = await makeFriends(lenient.api);
    // The SLOW call is still unanswered (its late answer would reject): only the timeout lets it through.
    for (const body of ['SLOW answer', 'BROKEN answer']) expect((await send(lenient, lenientPair.a, lenientPair.b.user.id, body)).code, body).toBe(0);
    expect(await stored(lenient, lenientPair.a.user.id)).toEqual(['SLOW answer', 'BROKEN answer']);
  });

  it('the word filter: reject mode refuses (400 / 1007) messages, nicknames, group names and notices; mask mode stores ***; case does not matter', async () => {
    const { a, b } = await makeFriends(strict.api);
    const calls = receiver.calls.length;
    const refused = await send(strict, a, b.user.id, 'you BadWord!');
    expect([refused.status, refused.code, refused.msg]).toEqual([400, 1007, 'body: contains a word that is not allowed']);
    expect(receiver.calls.length).toBe(calls); // refused before the hook is asked
    expect((await post(strict.api, '/user/update/nickname', { nickname: '坏词王' }, { token: a.token })).code).toBe(1007);
    expect((await post(strict.api, '/im/group/create', { name: 'badword club' }, { token: a.token })).code).toBe(1007);
    const group = (await post(strict.api, '/im/group/create', { name: 'fine club' }, { token: a.token })).data.group;
    expect((await post(strict.api, '/im/group/update', { group_id: group.id, notice: 'no BADWORD here' }, { token: a.token })).code).toBe(1007);
    expect(await stored(strict, a.user.id)).toEqual([]);
    expect((await post(strict.api, '/user/info', {}, { token: a.token })).data.nickname).toBe(a.username);

    const m = await makeFriends(lenient.api);
    expect((await send(lenient, m.a, m.b.user.id, 'you BadWord, 坏词!')).code).toBe(0);
    expect(await stored(lenient, m.a.user.id)).toEqual(['you ***, ***!']);
    expect((await post(lenient.api, '/user/update/nickname', { nickname: '坏词王' }, { token: m.a.token })).data.user.nickname).toBe('***王');
    const masked = (await post(lenient.api, '/im/group/create', { name: 'badword club' }, { token: m.a.token })).data.group;
    expect(masked.name).toBe('*** club');
    await post(lenient.api, '/im/group/update', { group_id: masked.id, notice: 'no badword here' }, { token: m.a.token });
    expect((await post(lenient.api, '/im/group/info', { group_id: masked.id }, { token: m.a.token })).data).toMatchObject({ group: { name: '*** club' }, notice: 'no *** here' });
    // The hook is asked after the filter: it sees the masked text.
    expect(receiver.calls.at(-1)!.message.body).toBe('you ***, ***!');
  });

  it('the list is read again when its file changes', async () => {
    const { a, b } = await makeFriends(lenient.api);
    expect((await send(lenient, a, b.user.id, 'a newword here')).code).toBe(0);
    expect(await stored(lenient, a.user.id)).toEqual(['a newword here']);
    appendFileSync(words, 'newword\n');
    const deadline = Date.now() + 8000;
    let last = '';
    while (Date.now() < deadline) {
      await settle(300);
      await send(lenient, a, b.user.id, 'a newword here');
      last = (await stored(lenient, a.user.id)).at(-1)!;
      if (last === 'a *** here') break;
    }
    expect(last).toBe('a *** here');
  });
});
