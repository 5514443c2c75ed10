import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { readNoticeFrame } from '../../notify/frames.js';
import { type Notifier, Ope } from '../../notify/notifier.js';
import { memberRole } from '../groups/index.js';
import { ConversationKind, friendConversationKey, groupConversationKey } from '../conversations/index.js';
import { reactionsOf } from '../messages/index.js';
import { publicUsersByIds } from '../users/index.js';
import { historyItem } from './frames.js';
import { countUnread, lastMessage, mentionedAfter, raiseReadCursor, readCursorsOf } from './reads.repo.js';
import { type ConversationRef, conversationsOf, historyPage } from './sync.repo.js';

/** Unread counts stop at this ("99+" style); counting costs at most this many rows. */
const UNREAD_CAP = 100;
/** The conversation list shows the most recent this many (older ones stay reachable by history). */
const LIST_LIMIT = 200;

export type ConversationTarget = { toUid: number } | { groupId: number } | { conversationId: number };

/** A user's conversations, their history, and read cursors. */
export class ConversationsService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly options: { readNotices: boolean },
    private readonly clock: () => number = Date.now,
  ) {}

  /** The user's most recent conversations (up to 200), newest first, with last message and unread count. */
  async list(userId: number) {
    const conversations = (await conversationsOf(this.db, userId))
      .filter((c) => c.lastSeq > c.startSeq)
      .sort((a, b) => b.lastMessageAt - a.lastMessageAt)
      .slice(0, LIST_LIMIT);
    const reads = await readCursorsOf(this.db, userId);
    const peerIds = conversations.map((c) => (c.userLo === userId ? c.userHi : c.userLo)).filter((id): id is number => id !== null);
    const groupIds = conversations.map((c) => c.groupId).filter((id): id is number => id !== null);
    const [peers, groups] = await Promise.all([
      publicUsersByIds(this.db, peerIds),
      groupIds.length ? this.db.selectFrom('groups').select(['id', 'name', 'owner_id', 'member_count']).where('id', 'in', groupIds).execute() : [],
    ]);
    const peerOf = new Map(peers.map((p) => [p.id, p]));
    const groupOf = new Map(groups.map((g) => [Number(g.id), { id: Number(g.id), name: g.name, owner_id: Number(g.owner_id), member_count: Number(g.member_count) }]));
    const list = await Promise.all(conversations.map(async (c) => {
      const readSeq = Math.max(reads.get(c.id) ?? 0, c.startSeq);
      const last = await lastMessage(this.db, c.id, c.startSeq);
      const peerId = c.userLo === userId ? c.userHi : c.userLo;
      const unread = c.lastSeq > readSeq ? await countUnread(this.db, c.id, userId, readSeq, UNREAD_CAP) : 0;
      return {
        conversation_id: c.id,
        ope: c.kind,
        peer: c.kind === ConversationKind.Friend ? (peerOf.get(peerId!) ?? null) : null,
        group: c.kind === ConversationKind.Group ? (groupOf.get(c.groupId!) ?? null) : null,
        last_seq: c.lastSeq,
        read_seq: readSeq,
        unread,
        // Mentioned (by id or `all`) in a message after the read cursor: until read past it.
        mentioned: c.kind === ConversationKind.Group && unread > 0 ? await mentionedAfter(this.db, c.id, userId, readSeq) : false,
        last_message: last ? historyItem(last) : null,
        updated_at: c.lastMessageAt,
      };
    }));
    return list.sort((a, b) => b.updated_at - a.updated_at);
  }

  /** Messages before `beforeSeq`, newest first; groups: members only, from their join. */
  async history(userId: number, target: ConversationTarget, beforeSeq: number | undefined, limit: number) {
    const c = await this.resolve(userId, target);
    if (!c) return { list: [], has_more: false };
    const rows = (await historyPage(this.db, c.id, c.startSeq, beforeSeq ?? Number.MAX_SAFE_INTEGER, limit + 1)).slice(0, limit + 1);
    const shown = rows.slice(0, limit);
    const reactions = await reactionsOf(this.db, shown.filter((r) => r.withdrawn_at === null).map((r) => Number(r.id)), userId);
    return { conversation_id: c.id, list: shown.map((r) => ({ ...historyItem(r), reactions: reactions.get(Number(r.id)) ?? [] })), has_more: rows.length > limit };
  }

  /**
   * Raises the user's read cursor (one integer per conversation). In 1:1 chats the peer is told
   * (Cmd 21, when enabled); the reader's other devices always are, to clear their badges.
   */
  async markRead(userId: number, target: ConversationTarget, seq: number, exceptConnection?: string) {
    const c = await this.resolve(userId, target);
    if (!c) throw new AppError('conversation_not_found');
    const readSeq = Math.min(seq, c.lastSeq);
    await raiseReadCursor(this.db, userId, c.id, readSeq, this.clock());
    const peer = c.kind === ConversationKind.Friend ? (c.userLo === userId ? c.userHi! : c.userLo!) : undefined;
    const recipients = peer !== undefined && this.options.readNotices ? [userId, peer] : [userId];
    this.notifier.notify({
      userIds: recipients,
      frame: readNoticeFrame({ readerId: userId, toId: peer ?? c.groupId!, ope: peer !== undefined ? Ope.Friend : Ope.Group, convId: c.id, seq: readSeq }),
      except: exceptConnection ? { connectionId: exceptConnection } : undefined,
    });
    return { conversation_id: c.id, read_seq: readSeq };
  }

  /** The user's conversation for a target; undefined when it has no messages yet. */
  private async resolve(userId: number, target: ConversationTarget): Promise<ConversationRef | undefined> {
    if ('groupId' in target && (await memberRole(this.db, target.groupId, userId)) === undefined) {
      throw new AppError('not_group_member');
    }
    if ('conversationId' in target) {
      const [found] = await conversationsOf(this.db, userId, target.conversationId);
      if (!found) throw new AppError('conversation_not_found');
      return found;
    }
    const key = 'toUid' in target ? friendConversationKey(userId, target.toUid) : groupConversationKey(target.groupId);
    const row = await this.db.selectFrom('conversations').select('id').where('conv_key', '=', key).executeTakeFirst();
    return row ? (await conversationsOf(this.db, userId, Number(row.id)))[0] : undefined;
  }
}
