import type { Db, Executor } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { messageFrame, withdrawnFrame } from '../../notify/frames.js';
import { type Notification, type Notifier, Ope } from '../../notify/notifier.js';
import type { FriendsService } from '../friends/index.js';
import { memberIds, memberRole, Role, sendRefusal } from '../groups/index.js';
import type { MessageStore, PendingMessage } from './message-writer.js';
import { findMessageForUpdate, markWithdrawn } from './messages.repo.js';
import { isMediaType, type MediaBodies } from './media-bodies.js';
import { bodyProblem, MessageType, notEntitled } from './messages.schema.js';
import { type Moderation, NO_MODERATION } from '../moderation/index.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import type { StoredForPush } from '../offline-push/index.js';
import { ConversationKind, friendConversationKey, groupConversationKey } from '../conversations/index.js';
import type { StoredMessage } from './messages.table.js';

export interface MessagesOptions {
  maxBodyChars: number;
  withdrawWindowMs: number;
}

export interface SendInput {
  type: number;
  body: string;
  clientMsgId?: string;
  /** The id of a message of the same conversation this one answers. */
  replyTo?: number;
  /** Group messages: members to mention, or `all` (owner and admins only). */
  mentions?: number[] | 'all';
  /** The sending device: it gets the ack, not the frame. */
  except?: Notification['except'];
}

/** Friend and group messages: checked, stored (with seq) first, then pushed. */
export class MessagesService {
  private readonly storedListeners: Array<(m: StoredForPush) => void> = [];

  constructor(
    private readonly db: Db,
    private readonly writer: Pick<MessageStore, 'write'>,
    private readonly notifier: Notifier,
    private readonly friends: Pick<FriendsService, 'areFriends'>,
    private readonly sendLimit: RateLimiter,
    private readonly media: Pick<MediaBodies, 'problem' | 'shapeProblem'>,
    private readonly options: MessagesOptions,
    private readonly moderation: Moderation = NO_MODERATION,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Friends only. Cmd 6 goes to every device of both users except the sending one. */
  async sendToUser(senderId: number, toUid: number, input: SendInput): Promise<StoredMessage> {
    this.check(input);
    await this.sendLimit.consume(String(senderId));
    if (input.mentions !== undefined) throw new AppError('mentions_group_only');
    if (toUid === senderId) throw notEntitled(ConversationKind.Friend);
    // The writer checks the friendship in the transaction that stores the message (friends for a
    // conversation it has not stored, the conversation's closed flag for one it has): a message
    // needs no read of its own here unless something before the writer depends on the answer.
    if (this.checksBeforeWriter(input) && !(await this.friends.areFriends(senderId, toUid))) throw notEntitled(ConversationKind.Friend);
    await this.checkMedia(input);
    if (input.replyTo !== undefined) await this.checkReply(input.replyTo, (m) => m.ope === Ope.Friend && ((m.senderId === senderId && m.toId === toUid) || (m.senderId === toUid && m.toId === senderId)));
    const pending = {
      convKey: friendConversationKey(senderId, toUid), kind: ConversationKind.Friend,
      userLo: Math.min(senderId, toUid), userHi: Math.max(senderId, toUid), groupId: null,
      senderId, toId: toUid, type: input.type, body: input.body, clientMsgId: input.clientMsgId ?? null, replyTo: input.replyTo ?? null, mentions: null,
    };
    return this.storeAndPush(pending, [toUid, senderId], input.except);
  }

  /** Members only. Cmd 10 goes to every member device except the sending one. */
  async sendToGroup(senderId: number, groupId: number, input: SendInput): Promise<StoredMessage> {
    this.check(input);
    await this.sendLimit.consume(String(senderId));
    // Recipients are read before the write so that frames leave in seq order (nothing awaits
    // between the write resolving and the push). A member joining meanwhile gets it by sync.
    const recipients = await memberIds(this.db, groupId);
    if (!recipients.includes(senderId)) throw notEntitled(ConversationKind.Group);
    const refusal = await sendRefusal(this.db, groupId, senderId, this.clock());
    if (refusal === 'dissolved') throw new AppError('group_dissolved');
    if (refusal === 'muted') throw new AppError('muted');
    await this.checkMedia(input);
    if (input.replyTo !== undefined) await this.checkReply(input.replyTo, (m) => m.ope === Ope.Group && m.toId === groupId);
    const mentions = await this.checkMentions(input.mentions, groupId, senderId, recipients);
    const pending = {
      convKey: groupConversationKey(groupId), kind: ConversationKind.Group, userLo: null, userHi: null, groupId,
      senderId, toId: groupId, type: input.type, body: input.body, clientMsgId: input.clientMsgId ?? null, replyTo: input.replyTo ?? null, mentions,
    };
    return this.storeAndPush(pending, recipients, input.except);
  }

  /**
   * Stores a message, then pushes its frame to `recipients`. A resend that finds the message stored
   * pushes it again: its first push may never have left (the node that stored it died, or the
   * commit's answer was lost with the database connection); sockets drop what they have.
   */
  /** Told of each message stored for the first time, after its push (offline push listens). */
  onStored(listener: (m: StoredForPush) => void): void {
    this.storedListeners.push(listener);
  }

  private async storeAndPush(given: PendingMessage, recipients: number[], except: SendInput['except']): Promise<StoredMessage> {
    const pending = await this.screen(given);
    const stored = await this.writer.write(pending);
    this.notifier.notify({
      userIds: recipients,
      frame: messageFrame({
        fromId: pending.senderId, toId: pending.toId, ope: pending.kind, type: pending.type, body: pending.body,
        id: stored.id, convId: stored.conversationId, seq: stored.seq, time: stored.created_at, replyTo: pending.replyTo, mentions: pending.mentions,
      }),
      except,
      stream: { key: `c${stored.conversationId}`, seq: stored.seq },
    });
    if (stored.fresh) {
      for (const listener of this.storedListeners) {
        listener({ id: stored.id, senderId: pending.senderId, toId: pending.toId, ope: pending.kind, type: pending.type, body: pending.body, conversationId: stored.conversationId, seq: stored.seq, recipients, mentions: pending.mentions });
      }
    }
    return { id: stored.id, seq: stored.seq, created_at: stored.created_at, conversation_id: stored.conversationId };
  }

  /**
   * The sender withdraws their own message within the window (from a group: while still a member).
   * The withdraw takes the next seq of the conversation (so sync replays it in order); Cmd 7 / 11
   * tells everyone.
   */
  async withdraw(senderId: number, messageId: number, ope: 0 | 1): Promise<void> {
    const now = this.clock();
    let recipients: number[] = [];
    const message = await transact(this.db, async (trx) => {
      const row = await findMessageForUpdate(trx, messageId);
      if (!row || Number(row.ope) !== ope) throw new AppError('message_not_found');
      if (Number(row.sender_id) !== senderId) throw new AppError('withdraw_sender_only');
      if (ope === Ope.Group) {
        // A sender who left or was removed no longer speaks in the group, withdrawals included.
        recipients = await memberIds(trx, Number(row.to_id));
        if (!recipients.includes(senderId)) throw notEntitled(ConversationKind.Group);
      } else recipients = [Number(row.to_id), senderId];
      if (row.withdrawn_at !== null) return undefined;
      if (now - Number(row.created_at) > this.options.withdrawWindowMs) throw new AppError('withdraw_window_passed');
      return this.markWithdrawn(trx, row, now);
    });
    if (message) this.tellWithdrawn(message, recipients, now);
  }

  /**
   * The operator deletes a message (admin API): a withdraw whatever its age, told to everyone as
   * its sender's withdraw would be. `inTransaction` runs in its transaction (the audit row).
   */
  async withdrawAsOperator(messageId: number, inTransaction: (trx: Executor) => Promise<void>): Promise<void> {
    const now = this.clock();
    let recipients: number[] = [];
    const message = await transact(this.db, async (trx) => {
      const row = await findMessageForUpdate(trx, messageId);
      if (!row) throw new AppError('message_not_found');
      await inTransaction(trx);
      recipients = Number(row.ope) === Ope.Group ? await memberIds(trx, Number(row.to_id)) : [Number(row.to_id), Number(row.sender_id)];
      return row.withdrawn_at === null ? this.markWithdrawn(trx, row, now) : undefined;
    });
    if (message) this.tellWithdrawn(message, recipients, now);
  }

  /** Takes the withdraw's seq and records its webhook event, in the caller's transaction. */
  private async markWithdrawn(trx: Executor, row: { id: number; conversation_id: number; sender_id: number; to_id: number; ope: number }, now: number) {
    const conversationId = Number(row.conversation_id);
    const message = { id: Number(row.id), senderId: Number(row.sender_id), toId: Number(row.to_id), ope: Number(row.ope), conversationId, seq: await markWithdrawn(trx, Number(row.id), conversationId, now) };
    await this.webhooks.record(trx, 'message.withdrawn', orderKey.conversation(conversationId), {
      message_id: message.id, conversation_id: conversationId, seq: message.seq, from_id: message.senderId, to_id: message.toId, ope: message.ope,
    });
    return message;
  }

  private tellWithdrawn(m: { id: number; senderId: number; toId: number; ope: number; conversationId: number; seq: number }, recipients: number[], now: number): void {
    const frame = withdrawnFrame({ fromId: m.senderId, toId: m.toId, ope: m.ope, id: m.id, convId: m.conversationId, seq: m.seq, time: now });
    this.notifier.notify({ userIds: recipients, frame, stream: { key: `c${m.conversationId}`, seq: m.seq } });
  }

  /**
   * The word filter (text types) and the before-send hook, once the sender may send here: the body
   * to store, or a refusal. A body the hook rewrote is checked as a sent one is.
   */
  private async screen(pending: PendingMessage): Promise<PendingMessage> {
    const message = {
      from_id: pending.senderId, to_id: pending.toId, ope: pending.kind, type: pending.type, body: pending.body,
      client_msg_id: pending.clientMsgId, reply_to: pending.replyTo, mentions: pending.mentions, edit_of: null,
    };
    const body = await this.moderation.message(message, pending.type === MessageType.Text || pending.type === MessageType.Prompt);
    if (body === pending.body) return pending;
    const problem = bodyProblem(pending.type, body, this.options.maxBodyChars);
    if (problem) throw new AppError('hook_rewrite_invalid');
    return { ...pending, body };
  }

  /**
   * Whether a friend message's sender must be known to be a friend before the writer: a reply or
   * an upload is looked up (a stranger learns nothing of either), and the before-send hook is
   * shown only messages their senders may send. The rest go to the writer, which refuses a
   * stranger's message with the same 403 in its transaction, without a read on this node first.
   */
  private checksBeforeWriter(input: SendInput): boolean {
    return input.replyTo !== undefined || isMediaType(input.type) || this.moderation.hook !== undefined;
  }

  /** The checks that need nothing but the input (run before the rate limit counts the send). */
  private check(input: SendInput): void {
    const problem = bodyProblem(input.type, input.body, this.options.maxBodyChars) ?? (isMediaType(input.type) ? this.media.shapeProblem(input.type, input.body) : undefined);
    if (problem) throw problem;
  }

  /**
   * Pictures, voice, video and files: the body must name an upload of that kind (a database read,
   * so after the rate limit and the sender's entitlement). Text, geo and prompts cost nothing here.
   */
  /**
   * A reply answers a message of the same conversation (`sameConversation` of its row), whatever
   * its age or state (withdrawn ones included: the client shows "withdrawn"); any other id, one
   * that does not exist included, is 400, so an id from elsewhere tells nothing about it.
   */
  private async checkReply(replyTo: number, sameConversation: (m: { ope: number; senderId: number; toId: number }) => boolean): Promise<void> {
    const row = await this.db.selectFrom('messages').select(['ope', 'sender_id', 'to_id']).where('id', '=', replyTo).executeTakeFirst();
    if (!row || !sameConversation({ ope: Number(row.ope), senderId: Number(row.sender_id), toId: Number(row.to_id) })) {
      throw new AppError('reply_not_in_conversation');
    }
  }

  /** Mentioned ids are members (each once, in the order given); `all` needs the owner or an admin. */
  private async checkMentions(mentions: SendInput['mentions'], groupId: number, senderId: number, members: readonly number[]): Promise<number[] | 'all' | null> {
    if (mentions === undefined) return null;
    if (mentions === 'all') {
      const role = await memberRole(this.db, groupId, senderId);
      if (role !== Role.Owner && role !== Role.Admin) throw new AppError('admins_only_mention_all');
      return 'all';
    }
    const ids = [...new Set(mentions)];
    const inGroup = new Set(members);
    const outsiders = ids.filter((id) => !inGroup.has(id));
    if (outsiders.length > 0) throw new AppError('mentions_not_members', { ids: outsiders.slice(0, 5).join(', ') });
    return ids;
  }

  private async checkMedia(input: SendInput): Promise<void> {
    if (!isMediaType(input.type)) return;
    const problem = await this.media.problem(input.type, input.body);
    if (problem) throw problem;
  }
}
