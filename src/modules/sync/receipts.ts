import type { Db, Executor } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { memberRole } from '../groups/index.js';
import { type PublicUser, publicUsersByIds } from '../users/index.js';

/** Who has read a message, as its sender sees it (`/im/chat/receipts`). */
export interface Receipt {
  message_id: number;
  conversation_id: number;
  seq: number;
  /** Members who could read it: the friend, or the group's members but the sender who were in it when it was sent. */
  member_count: number;
  read_count: number;
  /** Those who read it, when `member_count` ≤ `messages.receipt_list_max`; absent above. */
  readers?: PublicUser[];
}

/**
 * Read receipts, derived from the read cursors that exist (`read_cursors`, raised by `/im/chat/read`
 * and Cmd 20): a member has read a message when their cursor of its conversation is at or past its
 * seq. Nothing is written per reader per message; a receipt is two counts over the index on
 * (conversation_id, read_seq) and the group's members, plus the readers' names in small groups.
 * Only the sender asks (what others read is theirs to tell, as WhatsApp and Signal do), and, in a
 * group, only while still a member.
 */
export class ReceiptsService {
  constructor(
    private readonly db: Db,
    private readonly options: { listMax: number },
  ) {}

  async receipt(userId: number, messageId: number): Promise<Receipt> {
    const m = await this.db
      .selectFrom('messages')
      .select(['id', 'conversation_id', 'seq', 'sender_id', 'ope', 'to_id'])
      .where('id', '=', messageId)
      .executeTakeFirst();
    if (!m) throw new AppError('message_not_found');
    if (Number(m.sender_id) !== userId) throw new AppError('receipts_sender_only');
    const conversationId = Number(m.conversation_id);
    const seq = Number(m.seq);
    const base = { message_id: Number(m.id), conversation_id: conversationId, seq };
    if (Number(m.ope) === 0) {
      const peer = Number(m.to_id);
      const cursor = await this.db.selectFrom('read_cursors').select('read_seq').where('user_id', '=', peer).where('conversation_id', '=', conversationId).executeTakeFirst();
      const read = cursor !== undefined && Number(cursor.read_seq) >= seq;
      return { ...base, member_count: 1, read_count: read ? 1 : 0, ...(this.options.listMax >= 1 ? { readers: read ? await publicUsersByIds(this.db, [peer]) : [] } : {}) };
    }
    const groupId = Number(m.to_id);
    if ((await memberRole(this.db, groupId, userId)) === undefined) throw new AppError('not_group_member');
    const memberCount = await countOf(eligibleMembers(this.db, groupId, userId, seq).select((eb) => eb.fn.countAll<number>().as('n')));
    const readers = readersOf(this.db, groupId, conversationId, userId, seq);
    if (memberCount > this.options.listMax) {
      return { ...base, member_count: memberCount, read_count: await countOf(readers.select((eb) => eb.fn.countAll<number>().as('n'))) };
    }
    const ids = (await readers.select('rc.user_id').orderBy('rc.user_id').execute()).map((r) => Number(r.user_id));
    return { ...base, member_count: memberCount, read_count: ids.length, readers: await publicUsersByIds(this.db, ids) };
  }
}

/** Members but `senderId` who were in the group when the message took `seq` (joined_seq below it). */
function eligibleMembers(db: Executor, groupId: number, senderId: number, seq: number) {
  return db.selectFrom('group_members').where('group_id', '=', groupId).where('user_id', '!=', senderId).where('joined_seq', '<', seq);
}

/** The read cursors at or past `seq` of those members (the index on conversation_id, read_seq). */
function readersOf(db: Executor, groupId: number, conversationId: number, senderId: number, seq: number) {
  return db
    .selectFrom('read_cursors as rc')
    .innerJoin('group_members as gm', (j) => j.onRef('gm.user_id', '=', 'rc.user_id').on('gm.group_id', '=', groupId))
    .where('rc.conversation_id', '=', conversationId)
    .where('rc.read_seq', '>=', seq)
    .where('rc.user_id', '!=', senderId)
    .where('gm.joined_seq', '<', seq);
}

async function countOf(query: { executeTakeFirstOrThrow(): Promise<{ n: number | string | bigint }> }): Promise<number> {
  return Number((await query.executeTakeFirstOrThrow()).n);
}
