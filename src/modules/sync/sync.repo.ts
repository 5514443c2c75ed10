import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { executeRows } from '../../db/prepared.js';
import { shapedQuery } from '../../db/shaped-query.js';

/**
 * Every conversation `userId` takes part in (or just `onlyId`), with where it starts for them
 * (group join seq). Read by every sync: built once per shape, prepared on MySQL (prepared.ts).
 */
export async function conversationsOf(db: Executor, userId: number, onlyId?: number) {
  const build = (p: { userId: number; onlyId: number }, one: boolean) => {
    let friends = db
      .selectFrom('conversations')
      .select(['id', 'kind', 'user_lo', 'user_hi', 'group_id', 'last_seq', 'last_message_at'])
      .select(sql<number>`0`.as('start_seq'))
      .where((eb) => eb.or([eb('user_lo', '=', p.userId), eb('user_hi', '=', p.userId)]));
    let groups = db
      .selectFrom('group_members')
      .innerJoin('conversations', 'conversations.group_id', 'group_members.group_id')
      .select(['conversations.id', 'conversations.kind', 'conversations.user_lo', 'conversations.user_hi', 'conversations.group_id', 'conversations.last_seq', 'conversations.last_message_at'])
      .select('group_members.joined_seq as start_seq')
      .where('group_members.user_id', '=', p.userId);
    if (one) {
      friends = friends.where('id', '=', p.onlyId);
      groups = groups.where('conversations.id', '=', p.onlyId);
    }
    return friends.unionAll(groups).compile();
  };
  const one = onlyId !== undefined;
  const rows = await executeRows(db, shapedQuery(db, one ? 'conversations-of-one' : 'conversations-of', { userId, onlyId: onlyId ?? 0 }, (p) => build(p, one)));
  return rows.map((r) => ({
    id: Number(r.id), kind: Number(r.kind), userLo: r.user_lo === null ? null : Number(r.user_lo), userHi: r.user_hi === null ? null : Number(r.user_hi),
    groupId: r.group_id === null ? null : Number(r.group_id), lastSeq: Number(r.last_seq), lastMessageAt: Number(r.last_message_at), startSeq: Number(r.start_seq),
  }));
}

export type ConversationRef = Awaited<ReturnType<typeof conversationsOf>>[number];

const messageColumns = ['id', 'seq', 'sender_id', 'ope', 'to_id', 'type', 'body', 'client_msg_id', 'created_at', 'withdrawn_at', 'withdraw_seq', 'reply_to', 'mentions', 'edited_at'] as const;

/**
 * The withdraws of a conversation whose own seq (the seq the withdraw took) is in
 * `after < withdraw_seq <= upTo`, oldest first (the messages themselves are read by
 * `messagesInRanges`).
 */
export async function withdrawsBetween(db: Executor, conversationId: number, after: number, upTo: number, limit: number) {
  // Read by every sync, for each conversation it reads: built once, prepared on MySQL (prepared.ts).
  return executeRows(db, shapedQuery(db, 'withdraws', { conversationId, after, upTo, limit }, (p) => withdrawsQuery(db, p.conversationId, p.after, p.upTo, p.limit).compile()));
}

/** The statement of `withdrawsBetween`, unexecuted (tests check its plan). */
export function withdrawsQuery(db: Executor, conversationId: number, after: number, upTo: number, limit: number) {
  return db
    .selectFrom('messages')
    .select(messageColumns)
    .where('conversation_id', '=', conversationId)
    .where('withdraw_seq', '>', after)
    .where('withdraw_seq', '<=', upTo)
    .orderBy('withdraw_seq')
    .limit(limit);
}

/** Conversations whose ranges one statement of `messagesInRanges` reads at most. */
const RANGES_PER_STATEMENT = 100;

/**
 * The messages of several conversations' ranges (`after < seq <= upTo` each), unordered, with
 * their conversation: one statement per 100 ranges (a probe of the (conversation, seq) index per
 * range), built once per count and prepared on MySQL (prepared.ts).
 */
export async function messagesInRanges(db: Executor, ranges: readonly SeqRange[]) {
  const rows = [];
  for (let at = 0; at < ranges.length; at += RANGES_PER_STATEMENT) {
    const chunk = ranges.slice(at, at + RANGES_PER_STATEMENT);
    const params = { ids: chunk.map((r) => r.conversationId), afters: chunk.map((r) => r.after), upTos: chunk.map((r) => r.upTo) };
    rows.push(...(await executeRows(db, shapedQuery(db, 'messages-in-ranges', params, (p) =>
      rangesQuery(db, p.ids.map((conversationId, i) => ({ conversationId, after: p.afters[i]!, upTo: p.upTos[i]! }))).compile()))));
  }
  return rows;
}

/** A conversation's seqs `after < seq <= upTo`. */
export interface SeqRange {
  conversationId: number;
  after: number;
  upTo: number;
}

/** The statement of one chunk of `messagesInRanges`, unexecuted (tests check its plan). */
export function rangesQuery(db: Executor, ranges: readonly SeqRange[]) {
  return db
    .selectFrom('messages')
    .select([...messageColumns, 'conversation_id'])
    .where((eb) => eb.or(ranges.map((r) => eb.and([eb('conversation_id', '=', r.conversationId), eb('seq', '>', r.after), eb('seq', '<=', r.upTo)]))));
}

/** Messages before `beforeSeq` (newest first) but after `startSeq`. */
export async function historyPage(db: Executor, conversationId: number, startSeq: number, beforeSeq: number, limit: number) {
  return db
    .selectFrom('messages')
    .select(messageColumns)
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', startSeq)
    .where('seq', '<', beforeSeq)
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
}

export type MessageRow = Awaited<ReturnType<typeof withdrawsBetween>>[number];

/** The edits of a conversation with `after < seq <= upTo`, oldest first, with what their frames name of the message. */
export async function editsBetween(db: Executor, conversationId: number, after: number, upTo: number, limit: number) {
  return db
    .selectFrom('message_edits as e')
    .innerJoin('messages as m', 'm.id', 'e.message_id')
    .select(['e.seq', 'e.message_id', 'e.body', 'e.edited_at', 'm.sender_id', 'm.to_id', 'm.ope', 'm.type'])
    .where('e.conversation_id', '=', conversationId)
    .where('e.seq', '>', after)
    .where('e.seq', '<=', upTo)
    .orderBy('e.seq')
    .limit(limit)
    .execute();
}

export type EditRow = Awaited<ReturnType<typeof editsBetween>>[number];

/** The reaction changes of a conversation with `after < seq <= upTo`, oldest first, with what their frames name of the message. */
export async function reactionsBetween(db: Executor, conversationId: number, after: number, upTo: number, limit: number) {
  return db
    .selectFrom('reaction_events as r')
    .innerJoin('messages as m', 'm.id', 'r.message_id')
    .select(['r.seq', 'r.message_id', 'r.user_id', 'r.emoji', 'r.on', 'r.created_at', 'm.to_id', 'm.ope'])
    .where('r.conversation_id', '=', conversationId)
    .where('r.seq', '>', after)
    .where('r.seq', '<=', upTo)
    .orderBy('r.seq')
    .limit(limit)
    .execute();
}

export type ReactionRow = Awaited<ReturnType<typeof reactionsBetween>>[number];

/** The administration events of a group conversation with `after < seq <= upTo`, oldest first. */
export async function groupEventsBetween(db: Executor, conversationId: number, after: number, upTo: number, limit: number) {
  return db
    .selectFrom('group_events')
    .select(['seq', 'group_id', 'actor_id', 'kind', 'user_id', 'value', 'created_at'])
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', after)
    .where('seq', '<=', upTo)
    .orderBy('seq')
    .limit(limit)
    .execute();
}

export type GroupEventRow = Awaited<ReturnType<typeof groupEventsBetween>>[number];
