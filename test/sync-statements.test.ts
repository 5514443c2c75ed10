import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncService, type Cursors } from '../src/modules/sync/index.js';
import { testDialects } from './helpers/database.js';
import { makeFriends, post, registerUser } from './helpers/http.js';
import { startTestNode, type TestNode } from './helpers/node.js';

/** Counts the statements run through the Kysely instance it is plugged into (one result each; a subquery has none of its own). */
function statementCounter(): KyselyPlugin & { count: number } {
  return {
    count: 0,
    transformQuery(args) {
      return args.node;
    },
    async transformResult(args) {
      this.count++;
      return args.result;
    },
  };
}

/**
 * A sync page reads the messages of all its conversations in one statement, and a conversation's
 * other event tables (withdraws, edits, reactions, group events) only when its messages leave seqs
 * of the range unaccounted for. What it returns is the same either way: every seq of the range once.
 */
describe.each(testDialects())('sync page statements on %s', (dialect) => {
  let t: TestNode;
  beforeAll(async () => {
    t = await startTestNode(dialect, { WEIM_MESSAGES_SEND_MAX_PER_10S: '100000' });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('plain messages: one statement for the messages of every conversation; withdraws, edits, reactions and group events still come, each seq once', async () => {
    const { a, b: f } = await makeFriends(t.api);
    const owner = await registerUser(t.api);
    const group = (await post(t.api, '/im/group/create', { name: 'statements' }, { token: owner.token })).data.group;
    const join = await post(t.api, '/im/group/join/request', { group_id: group.id }, { token: a.token });
    await post(t.api, '/im/group/join/handle', { join_id: join.data.join_id, status: 1 }, { token: owner.token });
    const first = await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'hello' }, { token: f.token });
    const firstGroup = await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: 'welcome' }, { token: owner.token });
    const friendConv = await conversationOf(first.data.id);
    const groupConv = await conversationOf(firstGroup.data.id);
    const events = Number((await t.dbh.db.selectFrom('user_events').select((eb) => eb.fn.max('seq').as('seq')).where('user_id', '=', a.user.id).executeTakeFirst())?.seq ?? 0);
    // Where A's device stands: after those two messages and its events.
    const cursors: Cursors = { conversations: new Map([[friendConv, await lastSeq(friendConv)], [groupConv, await lastSeq(groupConv)]]), events };

    const sent: number[] = [];
    for (let i = 0; i < 5; i++) sent.push((await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: `f${i}` }, { token: f.token })).data.id);
    for (let i = 0; i < 3; i++) await post(t.api, '/im/chat/send/group', { group_id: group.id, type: 0, body: `g${i}` }, { token: owner.token });

    const plain = await page(a.user.id, cursors);
    expect(plain.statements).toBe(3); // the conversations, the messages of both, the user's events
    expect(seqsOf(plain.items, friendConv)).toEqual(range(cursors.conversations.get(friendConv)!, await lastSeq(friendConv)));
    expect(seqsOf(plain.items, groupConv)).toEqual(range(cursors.conversations.get(groupConv)!, await lastSeq(groupConv)));
    expect(plain.items.filter((i) => i.stream.key === `c${friendConv}`).map((i) => [i.frame.Cmd, i.frame.Body])).toEqual(['f0', 'f1', 'f2', 'f3', 'f4'].map((body) => [6, body]));
    expect(plain.items.filter((i) => i.stream.key === `c${groupConv}`).map((i) => [i.frame.Cmd, i.frame.Body])).toEqual(['g0', 'g1', 'g2'].map((body) => [10, body]));

    // Now events of the other kinds in the same ranges: an edit, a reaction, a withdraw, a group change.
    expect((await post(t.api, '/im/chat/edit/user', { message_id: sent[0], body: 'f0 edited' }, { token: f.token })).code).toBe(0);
    expect((await post(t.api, '/im/chat/react', { message_id: sent[1], emoji: '👍', on: 1 }, { token: a.token })).code).toBe(0);
    expect((await post(t.api, '/im/chat/withdraw/user', { message_id: sent[2] }, { token: f.token })).code).toBe(0);
    expect((await post(t.api, '/im/group/update', { group_id: group.id, notice: 'read me' }, { token: owner.token })).code).toBe(0);

    const mixed = await page(a.user.id, cursors);
    const friendSeqs = seqsOf(mixed.items, friendConv);
    expect(friendSeqs).toEqual(range(cursors.conversations.get(friendConv)!, await lastSeq(friendConv)));
    expect(friendSeqs).toHaveLength(5 + 3); // 5 messages, the edit, the reaction, the withdraw
    const groupSeqs = seqsOf(mixed.items, groupConv);
    expect(groupSeqs).toEqual(range(cursors.conversations.get(groupConv)!, await lastSeq(groupConv)));
    expect(groupSeqs).toHaveLength(3 + 1); // 3 messages, the notice change
    expect(mixed.items.some((i) => i.frame.Cmd === 7 && i.frame.Body === String(sent[2]))).toBe(true);
    expect(mixed.statements).toBeGreaterThan(3);
  });

  it('the user\'s events fill what the conversations leave of a page; the rest comes on the next pages', async () => {
    const { a, b: f } = await makeFriends(t.api);
    const first = await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: 'hello' }, { token: f.token });
    const friendConv = await conversationOf(first.data.id);
    const eventsBefore = Number((await t.dbh.db.selectFrom('users').select('event_seq').where('id', '=', a.user.id).executeTakeFirstOrThrow()).event_seq);
    const cursors: Cursors = { conversations: new Map([[friendConv, await lastSeq(friendConv)]]), events: eventsBefore };
    for (let i = 0; i < 2; i++) await post(t.api, '/im/chat/send/user', { to_uid: a.user.id, type: 0, body: `m${i}` }, { token: f.token });
    // Five friend requests: five events of A's.
    for (let i = 0; i < 5; i++) {
      const stranger = await registerUser(t.api);
      expect((await post(t.api, '/im/friend/add/request', { f_uid: a.user.id, reason: `r${i}` }, { token: stranger.token })).code).toBe(0);
    }
    const sync = new SyncService(t.dbh.db);
    const one = await sync.page(a.user.id, cursors, 4);
    expect(one.items.map((i) => i.stream.key)).toEqual([`c${friendConv}`, `c${friendConv}`, 'e', 'e']);
    expect(one.items.filter((i) => i.stream.key === 'e').map((i) => i.stream.seq)).toEqual([eventsBefore + 1, eventsBefore + 2]);
    expect(one.more).toBe(true);
    expect(one.next.events).toBe(eventsBefore + 2);
    const two = await sync.page(a.user.id, one.next, 2);
    expect(two.items.map((i) => i.stream.seq)).toEqual([eventsBefore + 3, eventsBefore + 4]);
    expect(two.more).toBe(true);
    const three = await sync.page(a.user.id, two.next, 2);
    expect(three.items.map((i) => i.stream.seq)).toEqual([eventsBefore + 5]);
    expect(three.more).toBe(false);
    expect(three.next.events).toBe(eventsBefore + 5);
  });

  async function page(userId: number, cursors: Cursors) {
    const counter = statementCounter();
    const result = await new SyncService(t.dbh.db.withPlugin(counter)).page(userId, cursors);
    return { items: result.items.map((i) => ({ frame: i.frame as { Cmd: number; Body: unknown }, stream: i.stream })), statements: counter.count };
  }
  async function conversationOf(messageId: number): Promise<number> {
    return Number((await t.dbh.db.selectFrom('messages').select('conversation_id').where('id', '=', messageId).executeTakeFirstOrThrow()).conversation_id);
  }
  async function lastSeq(conversationId: number): Promise<number> {
    return Number((await t.dbh.db.selectFrom('conversations').select('last_seq').where('id', '=', conversationId).executeTakeFirstOrThrow()).last_seq);
  }
});

function seqsOf(items: ReadonlyArray<{ stream: { key: string; seq: number } }>, conversationId: number): number[] {
  return items.filter((i) => i.stream.key === `c${conversationId}`).map((i) => i.stream.seq);
}

/** `after + 1 … upTo`. */
function range(after: number, upTo: number): number[] {
  return Array.from({ length: upTo - after }, (_, i) => after + 1 + i);
}
