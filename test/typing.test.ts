import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testDialects } from './helpers/database.js';
import { login, makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';
import { openSocket, settle, type TestSocket } from './helpers/ws.js';

/**
 * Features declared at sign-in, and the first feature: typing (Cmd 27 → Cmd 28). Legacy sockets
 * (no `Features`) keep weIm-go's Cmd 4 and never get a Cmd 28; typing is relayed to friends and
 * to small groups, refused to strangers, rate-limited per socket, stored nowhere.
 */
describe.each(testDialects())('typing and features on %s', (dialect) => {
  let t: TestNode;
  const open: TestSocket[] = [];
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_GATEWAY_TYPING_MAX_PER_MINUTE: '5', WEIM_MESSAGES_TYPING_GROUP_MAX_MEMBERS: '3', WEIM_GATEWAY_MAX_BAD_FRAMES: '50' });
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.ws.terminate();
  });
  afterAll(async () => {
    await t.stop();
  });

  /** Signs a socket in, declaring `features` (none: the sign-in weIm-go's clients send). */
  async function signIn(token: string, features?: unknown): Promise<{ socket: TestSocket; signedIn: Record<string, unknown> }> {
    const socket = await openSocket(t.url);
    open.push(socket);
    socket.send({ Cmd: 3, Body: token, ...(features === undefined ? {} : { Features: features }) });
    const signedIn = (await socket.next((f) => f.Cmd === 4 || f.Cmd === 2)) as unknown as Record<string, unknown>;
    return { socket, signedIn };
  }

  async function rowCounts() {
    const count = async (table: 'messages' | 'user_events' | 'conversations') => Number((await t.dbh.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    return { messages: await count('messages'), events: await count('user_events'), conversations: await count('conversations') };
  }

  it('Cmd 4 lists the accepted features only when some were declared; unknown names are ignored, malformed ones refused', async () => {
    const u = await registerUser(t.api);
    const legacy = await signIn(u.token);
    expect(legacy.signedIn).toEqual({ Cmd: 4, FromId: 0, ToId: 0, Ope: 2, Type: 0, Body: String(u.user.id) });
    const modern = await signIn(await login(t.api, u.username), ['typing', 'reactions-v9']);
    expect(modern.signedIn.Features).toEqual(['typing']);
    const none = await signIn(await login(t.api, u.username), []);
    expect(none.signedIn.Features).toEqual([]);
    for (const bad of ['typing', [1], ['Typing'], ['a b'], Array.from({ length: 17 }, (_, i) => `f${i}`), [null], ['x'.repeat(33)]]) {
      const refused = await signIn(await login(t.api, u.username), bad);
      expect(refused.signedIn.Cmd, JSON.stringify(bad)).toBe(2);
      expect(String(refused.signedIn.Body)).toMatch(/^invalid frame: Features/);
    }
  });

  it('a friend typing reaches the peer\'s sockets that declared typing, not legacy ones nor the typer\'s own; nothing is stored', async () => {
    const { a, b } = await makeFriends(t.api);
    const bModern = (await signIn(b.token, ['typing'])).socket;
    const bLegacy = (await signIn(await login(t.api, b.username))).socket;
    const aOther = (await signIn(await login(t.api, a.username), ['typing'])).socket;
    const aTyping = (await signIn(a.token, ['typing'])).socket;
    const before = await rowCounts();
    aTyping.send({ Cmd: 27, ToId: b.user.id, Ope: 0 });
    const notice = await bModern.next((f) => f.Cmd === 28);
    expect(notice).toEqual({ Cmd: 28, FromId: a.user.id, ToId: b.user.id, Ope: 0, Type: 0, Body: '' });
    await settle();
    // Besides their Cmd 4 and presence (Cmd 19), nothing.
    const quiet = (s: TestSocket) => s.frames.filter((f) => f.Cmd !== 4 && f.Cmd !== 19);
    expect(quiet(bLegacy)).toEqual([]);
    expect(aOther.of(28)).toEqual([]);
    expect(quiet(aTyping)).toEqual([]);
    expect(await rowCounts()).toEqual(before);
  });

  it('typing to a stranger, to yourself or into a group you are not in is refused and relays nothing', async () => {
    const a = await registerUser(t.api);
    const stranger = await registerUser(t.api);
    const strangerSocket = (await signIn(stranger.token, ['typing'])).socket;
    const typer = (await signIn(a.token, ['typing'])).socket;
    const group = (await post(t.api, '/im/group/create', { name: 'closed' }, { token: stranger.token })).data.group;
    typer.send({ Cmd: 27, ToId: stranger.user.id, Ope: 0 });
    typer.send({ Cmd: 27, ToId: a.user.id, Ope: 0 });
    typer.send({ Cmd: 27, ToId: group.id, Ope: 1 });
    await typer.next(() => typer.of(2).length === 3);
    // Typing frames are handled as they come (not one after the other like sends): any order.
    expect(typer.of(2).map((f) => `${f.Code} ${f.Body}`).sort()).toEqual([
      '1000 cannot type to yourself',
      '1003 you are not a member of this group',
      '1003 you can only message your friends',
    ]);
    for (const bad of [{ Cmd: 27, ToId: '5', Ope: 0 }, { Cmd: 27, ToId: stranger.user.id, Ope: 2 }, { Cmd: 27, ToId: null, Ope: 0 }, { Cmd: 27, Ope: 0 }]) typer.send(bad);
    await settle();
    expect(typer.of(2).slice(3).map((f) => f.Body)).toEqual([expect.stringMatching(/^invalid frame: ToId/), expect.stringMatching(/^invalid frame: Ope/), expect.stringMatching(/^invalid frame: ToId/), expect.stringMatching(/^invalid frame: ToId/)]);
    expect(strangerSocket.of(28)).toEqual([]);
  });

  it('in a group: every other member\'s typing socket gets it; past typing_group_max_members nobody does', async () => {
    const owner = await registerUser(t.api);
    const members = [await registerUser(t.api), await registerUser(t.api)];
    const group = (await post(t.api, '/im/group/create', { name: 'small' }, { token: owner.token })).data.group;
    const join = async (u: Awaited<ReturnType<typeof registerUser>>) => {
      const request = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: u.token });
      await post(t.api, '/im/group/join/handle', { join_id: request.data.join_id, status: 1 }, { token: owner.token });
    };
    for (const m of members) await join(m);
    const ownerSocket = (await signIn(owner.token, ['typing'])).socket;
    const memberSockets = [];
    for (const m of members) memberSockets.push((await signIn(m.token, ['typing'])).socket);
    memberSockets[0]!.send({ Cmd: 27, ToId: group.id, Ope: 1 });
    expect(await ownerSocket.next((f) => f.Cmd === 28)).toEqual({ Cmd: 28, FromId: members[0]!.user.id, ToId: group.id, Ope: 1, Type: 0, Body: '' });
    await memberSockets[1]!.next((f) => f.Cmd === 28);
    await settle();
    expect(memberSockets[0]!.of(28)).toEqual([]);
    // A fourth member: the group is now larger than typing_group_max_members (3), and typing stays quiet.
    const fourth = await registerUser(t.api);
    await join(fourth);
    memberSockets[0]!.send({ Cmd: 27, ToId: group.id, Ope: 1 });
    await settle(300);
    expect(ownerSocket.of(28)).toHaveLength(1);
    expect(memberSockets[0]!.of(2)).toEqual([]);
  });

  it('a socket past typing_max_per_minute gets Cmd 2 (1005) and relays nothing more', async () => {
    const { a, b } = await makeFriends(t.api);
    const peer = (await signIn(b.token, ['typing'])).socket;
    const typer = (await signIn(a.token, ['typing'])).socket;
    for (let i = 0; i < 8; i++) typer.send({ Cmd: 27, ToId: b.user.id, Ope: 0 });
    await typer.next((f) => f.Cmd === 2 && typer.of(2).length === 3);
    await settle();
    expect(typer.of(2).map((f) => [f.Code, f.Body])).toEqual(Array.from({ length: 3 }, () => [1005, 'too many typing notices (Cmd 27): at most 5 a minute']));
    expect(peer.of(28)).toHaveLength(5);
  });
});
