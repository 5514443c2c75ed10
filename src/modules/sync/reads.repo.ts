import type { Executor } from '../../db/database.js';

/** Raises the read cursor to `seq` (never lowers it). */
export async function raiseReadCursor(db: Executor, userId: number, conversationId: number, seq: number, now: number): Promise<void> {
  await db.insertInto('read_cursors').values({ user_id: userId, conversation_id: conversationId, read_seq: 0, updated_at: now }).orIgnore().execute();
  await db
    .updateTable('read_cursors')
    .set({ read_seq: seq, updated_at: now })
    .where('user_id', '=', userId)
    .where('conversation_id', '=', conversationId)
    .where('read_seq', '<', seq)
    .execute();
}

export async function readCursorsOf(db: Executor, userId: number): Promise<Map<number, number>> {
  const rows = await db.selectFrom('read_cursors').select(['conversation_id', 'read_seq']).where('user_id', '=', userId).execute();
  return new Map(rows.map((r) => [Number(r.conversation_id), Number(r.read_seq)]));
}

/** Unread messages from others after `after`, counted up to `cap`. */
export async function countUnread(db: Executor, conversationId: number, userId: number, after: number, cap: number): Promise<number> {
  const rows = await db
    .selectFrom('messages')
    .select('id')
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', after)
    .where('sender_id', '!=', userId)
    .where('withdrawn_at', 'is', null)
    .limit(cap)
    .execute();
  return rows.length;
}

/**
 * Whether a message after `after` mentions `userId` or everyone (`message_mentions` user 0), sent
 * by someone else and not withdrawn: two probes of the mentions' primary key, joined to the message.
 */
export async function mentionedAfter(db: Executor, conversationId: number, userId: number, after: number): Promise<boolean> {
  const row = await db
    .selectFrom('message_mentions as mm')
    .innerJoin('messages as m', (j) => j.onRef('m.conversation_id', '=', 'mm.conversation_id').onRef('m.seq', '=', 'mm.seq'))
    .select('mm.seq')
    .where('mm.user_id', 'in', [userId, 0])
    .where('mm.conversation_id', '=', conversationId)
    .where('mm.seq', '>', after)
    .where('m.sender_id', '!=', userId)
    .where('m.withdrawn_at', 'is', null)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** The newest message of a conversation after `startSeq`. */
export async function lastMessage(db: Executor, conversationId: number, startSeq: number) {
  return db
    .selectFrom('messages')
    .select(['id', 'seq', 'sender_id', 'ope', 'to_id', 'type', 'body', 'created_at', 'withdrawn_at', 'withdraw_seq', 'reply_to', 'mentions', 'edited_at'])
    .where('conversation_id', '=', conversationId)
    .where('seq', '>', startSeq)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
}
