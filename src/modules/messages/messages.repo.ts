import type { Executor } from '../../db/database.js';
import { forUpdate } from '../../db/locking.js';
import { takeNextSeq } from '../conversations/index.js';

export async function findMessageForUpdate(db: Executor, id: number) {
  return forUpdate(
    db,
    db.selectFrom('messages').select(['id', 'conversation_id', 'sender_id', 'ope', 'to_id', 'type', 'created_at', 'withdrawn_at']).where('id', '=', id),
  ).executeTakeFirst();
}

/** Marks a message withdrawn, drops its body (and its edits') and gives the withdraw the conversation's next seq. */
export async function markWithdrawn(db: Executor, id: number, conversationId: number, now: number): Promise<number> {
  const seq = await takeNextSeq(db, conversationId, now);
  await db.updateTable('messages').set({ withdrawn_at: now, body: '', withdraw_seq: seq }).where('id', '=', id).execute();
  await db.updateTable('message_edits').set({ body: '' }).where('message_id', '=', id).execute();
  return seq;
}

/** Sets a message's body, recording the edit at the conversation's next seq; returns that seq. */
export async function recordEdit(db: Executor, id: number, conversationId: number, body: string, now: number): Promise<number> {
  const seq = await takeNextSeq(db, conversationId, now);
  await db.updateTable('messages').set({ body, edited_at: now }).where('id', '=', id).execute();
  await db.insertInto('message_edits').values({ conversation_id: conversationId, seq, message_id: id, body, edited_at: now }).execute();
  return seq;
}

/**
 * Puts a reaction on or takes it off, recording the change at the conversation's next seq; returns
 * that seq, or undefined when nothing changed (already on, or not there). Caps the kinds of
 * reactions per message at `maxKinds` (a new kind past it: false).
 */
export async function recordReaction(
  db: Executor,
  change: { messageId: number; conversationId: number; userId: number; emoji: string; on: boolean; now: number; maxKinds: number },
): Promise<number | undefined | false> {
  const { messageId, conversationId, userId, emoji, on, now } = change;
  const mine = await db.selectFrom('message_reactions').select('user_id').where('message_id', '=', messageId).where('emoji', '=', emoji).where('user_id', '=', userId).executeTakeFirst();
  if (on === (mine !== undefined)) return undefined;
  if (on) {
    const kinds = await db.selectFrom('message_reactions').select('emoji').distinct().where('message_id', '=', messageId).execute();
    if (!kinds.some((k) => k.emoji === emoji) && kinds.length >= change.maxKinds) return false;
    await db.insertInto('message_reactions').values({ message_id: messageId, user_id: userId, emoji, created_at: now }).execute();
  } else {
    await db.deleteFrom('message_reactions').where('message_id', '=', messageId).where('emoji', '=', emoji).where('user_id', '=', userId).execute();
  }
  const seq = await takeNextSeq(db, conversationId, now);
  await db.insertInto('reaction_events').values({ conversation_id: conversationId, seq, message_id: messageId, user_id: userId, emoji, on: on ? 1 : 0, created_at: now }).execute();
  return seq;
}

/** Each message's reactions: per emoji, how many and whether `viewerId` is among them. */
export async function reactionsOf(db: Executor, messageIds: readonly number[], viewerId: number): Promise<Map<number, Array<{ emoji: string; count: number; me: boolean }>>> {
  const byMessage = new Map<number, Array<{ emoji: string; count: number; me: boolean }>>();
  if (messageIds.length === 0) return byMessage;
  const rows = await db.selectFrom('message_reactions').select(['message_id', 'emoji', 'user_id']).where('message_id', 'in', [...messageIds]).orderBy('created_at').execute();
  for (const r of rows) {
    const id = Number(r.message_id);
    let list = byMessage.get(id);
    if (!list) byMessage.set(id, (list = []));
    let entry = list.find((e) => e.emoji === r.emoji);
    if (!entry) list.push((entry = { emoji: r.emoji, count: 0, me: false }));
    entry.count++;
    if (Number(r.user_id) === viewerId) entry.me = true;
  }
  return byMessage;
}
