import type { SelectQueryBuilder } from 'kysely';
import type { Executor } from '../../db/database.js';
import { forShare } from '../../db/locking.js';
import { AppError } from '../../errors.js';
import type { BatchStatements } from './batch-statements.js';
import type { PendingMessage, WriteResult } from './message-writer.js';
import { notEntitled } from './messages.schema.js';
import { ConversationKind } from '../conversations/index.js';
import { recordSentMessages } from '../webhooks/index.js';

/** What a batch is stored with besides its messages. */
export interface BatchContext {
  /** Look up resends of stored messages first (after the unique index refused one). */
  lookUpResends: boolean;
  /** The batch's time (epoch ms), for every message in it. */
  now: number;
  /** Friend conversations the writer has seen committed (their friendship needs no read). */
  stored: ReadonlyMap<string, true>;
  /**
   * Given on a manual-commit session: the insert carries the COMMIT when the statements can
   * (`insertMessagesAndCommit`), and `sent` turns true just before that query goes out (from then
   * on a lost connection leaves the outcome unknown). Otherwise the caller commits.
   */
  commit?: { sent: boolean };
  /** The webhook endpoints that get a `message.sent` event for each stored message (recorded in this transaction). */
  webhooks?: readonly string[];
}

/**
 * Stores one batch in `trx`: finds resends (when asked), refuses senders who lost the right,
 * advances each conversation's counter by its share (keys sorted, so concurrent writers lock in
 * the same order), inserts the messages with their seqs. Returns each message's outcome, in order.
 */
export async function storeBatch(trx: Executor, statements: BatchStatements, batch: PendingMessage[], context: BatchContext): Promise<Outcome[]> {
  const { lookUpResends, now, stored } = context;
  const results: Array<Outcome | undefined> = new Array(batch.length);
  const first = firstIndexes(batch);
  const unchecked = await resolveReplays(trx, batch, first, results, lookUpResends);
  const entitled = await refuseUnentitled(trx, batch, unchecked, results, !lookUpResends, (key) => stored.has(key));
  if (entitled.length === 0) return copyToResends(results, first);

  // Each conversation's share of the batch, in batch order. Keys are sorted so that concurrent
  // writers (other nodes) lock conversation rows in the same order.
  const perKey = new Map<string, number[]>();
  for (const i of entitled) {
    const key = batch[i]!.convKey;
    const members = perKey.get(key);
    if (members) members.push(i);
    else perKey.set(key, [i]);
  }
  const keys = [...perKey.keys()].sort();
  const counters = await statements.advanceCounters(trx, keys.map((k) => {
    const members = perKey.get(k)!;
    const m = batch[members[0]!]!;
    return { conv_key: k, kind: m.kind, user_lo: m.userLo, user_hi: m.userHi, group_id: m.groupId, last_seq: members.length, last_message_at: now };
  }));

  // The counter moved by the share: this batch owns the seqs just below its new value. A closed
  // conversation's counter did not move: its messages are refused.
  const seqOf = new Map<number, { conversationId: number; seq: number }>();
  const closed: number[] = [];
  for (const [key, members] of perKey) {
    const counter = counters.get(key);
    if (!counter) throw new Error(`conversation ${key} missing after its upsert`);
    if (counter.closed) closed.push(...members);
    else members.forEach((i, n) => seqOf.set(i, { conversationId: counter.id, seq: counter.lastSeq - members.length + 1 + n }));
  }
  if (closed.length > 0) await refuse(trx, batch, closed, results, !lookUpResends);
  const fresh = entitled.filter((i) => seqOf.has(i));
  if (fresh.length === 0) return copyToResends(results, first);
  const rows = fresh.map((i) => {
    const m = batch[i]!;
    const { conversationId, seq } = seqOf.get(i)!;
    return { conversation_id: conversationId, seq, sender_id: m.senderId, ope: m.kind, to_id: m.toId, type: m.type, body: m.body, client_msg_id: m.clientMsgId, reply_to: m.replyTo, mentions: mentionsText(m.mentions), created_at: now };
  });
  await storeMentions(trx, fresh.map((i) => ({ mentions: batch[i]!.mentions, ...seqOf.get(i)! })));
  if (context.webhooks && context.webhooks.length > 0) await recordSentMessages(trx, context.webhooks, rows.map((r, n) => ({ ...r, mentions: batch[fresh[n]!]!.mentions })));
  let ids: number[];
  if (context.commit && statements.insertMessagesAndCommit) {
    context.commit.sent = true;
    ids = await statements.insertMessagesAndCommit(trx, rows);
  } else {
    ids = await statements.insertMessages(trx, rows);
  }
  fresh.forEach((i, n) => {
    results[i] = { id: ids[n]!, conversationId: rows[n]!.conversation_id, seq: rows[n]!.seq, created_at: now, fresh: true };
  });
  return copyToResends(results, first);
}

/**
 * Fills `results` for resends of stored messages (when `lookUp`); returns the indexes still to
 * store. Resends within the batch are found either way.
 */
async function resolveReplays(trx: Executor, batch: PendingMessage[], first: number[], results: Array<Outcome | undefined>, lookUp: boolean): Promise<number[]> {
  // Each (sender, client id) once, even when the batch holds it several times.
  const withId = lookUp ? batch.filter((m, i) => m.clientMsgId !== null && first[i] === i) : [];
  const earlier = await storedResends(trx, withId);
  const fresh: number[] = [];
  batch.forEach((m, i) => {
    const stored = m.clientMsgId === null ? undefined : earlier.get(`${m.senderId}:${m.clientMsgId}`);
    if (stored) results[i] = stored;
    else if (first[i] === i) fresh.push(i);
  });
  return fresh;
}

/** What became of one message of a batch: stored (or found stored), or refused on its own. */
type Outcome = WriteResult | AppError;

/**
 * Of the `fresh` indexes, those whose senders may post: a group message whose sender is no longer
 * a member, or a friend message whose two users are not friends, is refused with 403 (changed
 * after the service's check) and the rest of the batch goes on. Friendships are read only for
 * conversations not `stored` yet: for the others the counter upsert reports a closed conversation.
 * Read inside the batch's transaction, on MySQL with a shared lock: a kick, leave or unfriend
 * committed first is seen (one under way is waited for), and one that comes later waits for this
 * batch to commit, so nothing is stored from someone who had lost the right by then.
 */
async function refuseUnentitled(
  trx: Executor,
  batch: readonly PendingMessage[],
  fresh: number[],
  results: Array<Outcome | undefined>,
  lookUpRefused: boolean,
  stored: (convKey: string) => boolean,
): Promise<number[]> {
  // The (group, sender) and (sender, recipient) pairs to look up, each once.
  const memberPairs = new Map<string, Pair>();
  const friendPairs = new Map<string, Pair>();
  for (const i of fresh) {
    const m = batch[i]!;
    if (m.kind === ConversationKind.Group) memberPairs.set(entitlementKey(m), [m.groupId!, m.senderId]);
    else if (!stored(m.convKey)) friendPairs.set(entitlementKey(m), [m.senderId, m.toId]);
  }
  // Nothing to look up (friend messages in stored conversations only): the upsert checks those.
  if (memberPairs.size === 0 && friendPairs.size === 0) return fresh;
  const members = await pairsPresent(trx, [...memberPairs.values()], (chunk) =>
    trx.selectFrom('group_members').select(['group_id as a', 'user_id as b']).where((eb) => eb.or(chunk.map(([g, u]) => eb.and([eb('group_id', '=', g), eb('user_id', '=', u)])))),
  );
  // A friendship is two rows, written and deleted together: the sender's row stands for both.
  const friends = await pairsPresent(trx, [...friendPairs.values()], (chunk) =>
    trx.selectFrom('friends').select(['user_id as a', 'friend_id as b']).where((eb) => eb.or(chunk.map(([u, f]) => eb.and([eb('user_id', '=', u), eb('friend_id', '=', f)])))),
  );
  const refused = fresh.filter((i) => {
    const m = batch[i]!;
    const key = entitlementKey(m);
    return m.kind === ConversationKind.Group ? !members.has(key) : friendPairs.has(key) && !friends.has(key);
  });
  if (refused.length === 0) return fresh;
  await refuse(trx, batch, refused, results, lookUpRefused);
  // The refused now have their outcome; the rest are still to store.
  return fresh.filter((i) => results[i] === undefined);
}

/**
 * Gives each of `refused` its 403, or, for one that resends a stored message (`lookUpRefused`:
 * resends were not looked up yet), the stored message: it was sent while its sender still could.
 */
async function refuse(trx: Executor, batch: readonly PendingMessage[], refused: readonly number[], results: Array<Outcome | undefined>, lookUpRefused: boolean): Promise<void> {
  const withId = lookUpRefused ? refused.map((i) => batch[i]!).filter((m) => m.clientMsgId !== null) : [];
  const stored = await storedResends(trx, withId);
  for (const i of refused) {
    const m = batch[i]!;
    results[i] = (m.clientMsgId !== null && stored.get(`${m.senderId}:${m.clientMsgId}`)) || notEntitled(m.kind);
  }
}

type Pair = readonly [number, number];

/** What entitles a message's sender: `group:sender` for a group message, `sender:recipient` for a friend one. */
function entitlementKey(m: PendingMessage): string {
  return m.kind === ConversationKind.Group ? `${m.groupId}:${m.senderId}` : `${m.senderId}:${m.toId}`;
}

/**
 * Which of `pairs` have a row, as `a:b` keys: `query` selects a chunk's rows (columns `a`, `b`),
 * one probe of the primary key per pair, 500 pairs to a statement, under a shared lock on MySQL.
 * No statement for no pairs.
 */
async function pairsPresent<DB, TB extends keyof DB>(
  trx: Executor,
  pairs: readonly Pair[],
  query: (chunk: readonly Pair[]) => SelectQueryBuilder<DB, TB, { a: number; b: number }>,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (let at = 0; at < pairs.length; at += 500) {
    for (const r of await forShare(trx, query(pairs.slice(at, at + 500))).execute()) found.add(`${Number(r.a)}:${Number(r.b)}`);
  }
  return found;
}

/**
 * The stored messages that `messages` resend, by `sender:clientMsgId`: exact (sender, client id)
 * pairs, one index probe each. (Two IN lists made the database probe every sender with every
 * client id: batch² probes, seconds per batch at 5k msgs/s.)
 */
async function storedResends(trx: Executor, messages: readonly PendingMessage[]): Promise<Map<string, WriteResult>> {
  const earlier = new Map<string, WriteResult>();
  if (messages.length === 0) return earlier;
  const found = await trx
    .selectFrom('messages')
    .select(['id', 'conversation_id', 'seq', 'created_at', 'sender_id', 'client_msg_id'])
    .where((eb) => eb.or(messages.map((m) => eb.and([eb('sender_id', '=', m.senderId), eb('client_msg_id', '=', m.clientMsgId!)]))))
    .execute();
  for (const r of found) {
    earlier.set(`${r.sender_id}:${r.client_msg_id}`, {
      id: Number(r.id), conversationId: Number(r.conversation_id), seq: Number(r.seq), created_at: Number(r.created_at), fresh: false,
    });
  }
  return earlier;
}

/** What `messages.mentions` holds: the JSON array of ids, `all`, or null. */
export function mentionsText(mentions: PendingMessage['mentions']): string | null {
  return mentions === null ? null : mentions === 'all' ? 'all' : JSON.stringify(mentions);
}

/**
 * One `message_mentions` row per mentioned user per message (user 0 for `all`), written in the
 * batch's transaction before the messages (their conversation and seq are known already), so a
 * message is never committed without its mentions. No statement for a batch without any.
 */
async function storeMentions(trx: Executor, messages: ReadonlyArray<{ mentions: PendingMessage['mentions']; conversationId: number; seq: number }>): Promise<void> {
  const rows = messages.flatMap(({ mentions, conversationId, seq }) =>
    mentions === null ? [] : (mentions === 'all' ? [0] : mentions).map((userId) => ({ user_id: userId, conversation_id: conversationId, seq })),
  );
  for (let at = 0; at < rows.length; at += 1000) await trx.insertInto('message_mentions').values(rows.slice(at, at + 1000)).execute();
}

/** Resends of a message that is itself in the batch share its outcome. */
function copyToResends(results: Array<Outcome | undefined>, first: readonly number[]): Outcome[] {
  for (let i = 0; i < results.length; i++) {
    if (results[i]) continue;
    const original = results[first[i]!]!;
    results[i] = original instanceof AppError ? original : { ...original, fresh: false };
  }
  return results as Outcome[];
}

/** For each message, the index of the first one in the batch with the same sender and client id (or its own). */
function firstIndexes(batch: readonly PendingMessage[]): number[] {
  const seen = new Map<string, number>();
  return batch.map((m, i) => {
    if (m.clientMsgId === null) return i;
    const key = `${m.senderId}:${m.clientMsgId}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) return earlier;
    seen.set(key, i);
    return i;
  });
}
