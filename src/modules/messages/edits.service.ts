import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { Feature } from '../../notify/features.js';
import { editedFrame } from '../../notify/frames.js';
import type { Notifier } from '../../notify/notifier.js';
import { type Moderation, NO_MODERATION } from '../moderation/index.js';
import { NO_WEBHOOKS, orderKey, type WebhookRecorder } from '../webhooks/index.js';
import { messageAudience } from './message-audience.js';
import { findMessageForUpdate, recordEdit } from './messages.repo.js';
import { bodyProblem, MessageType } from './messages.schema.js';

/**
 * Edits: the sender changes the body of a text message (type 0 or 10) within
 * `messages.edit_window_seconds` of sending it, while still allowed to write there (friends; a
 * member). Each edit is an event of the conversation's stream at a seq of its own (message_edits),
 * pushed as Cmd 29 to the sockets that declared the `edit` feature; the others' streams move past
 * it unseen (weIm-go's clients keep the body they had). History and sync show the current body
 * with `edited_at` / the edit frames in order.
 */
export class EditsService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly sendLimit: RateLimiter,
    private readonly options: { maxBodyChars: number; editWindowMs: number },
    private readonly moderation: Moderation = NO_MODERATION,
    private readonly webhooks: WebhookRecorder = NO_WEBHOOKS,
    private readonly clock: () => number = Date.now,
  ) {}

  async edit(senderId: number, messageId: number, ope: 0 | 1, given: string): Promise<{ id: number; conversation_id: number; seq: number; edited_at: number }> {
    await this.sendLimit.consume(String(senderId));
    const body = await this.screen(senderId, messageId, ope, given);
    const now = this.clock();
    let recipients: number[] = [];
    const edited = await transact(this.db, async (trx) => {
      const row = await findMessageForUpdate(trx, messageId);
      if (!row || Number(row.ope) !== ope) throw new AppError('message_not_found');
      if (Number(row.sender_id) !== senderId) throw new AppError('edit_sender_only');
      const type = Number(row.type);
      if (type !== MessageType.Text && type !== MessageType.Prompt) throw new AppError('edit_text_only');
      const problem = bodyProblem(type, body, this.options.maxBodyChars);
      if (problem) throw problem;
      const conversationId = Number(row.conversation_id);
      // Still allowed to write there: a member; friends (an unfriend closed the conversation).
      recipients = await messageAudience(trx, row, senderId);
      if (row.withdrawn_at !== null) throw new AppError('message_withdrawn');
      if (now - Number(row.created_at) > this.options.editWindowMs) throw new AppError('edit_window_passed');
      const seq = await recordEdit(trx, messageId, conversationId, body, now);
      await this.webhooks.record(trx, 'message.edited', orderKey.conversation(conversationId), {
        message_id: messageId, conversation_id: conversationId, seq, from_id: senderId, to_id: Number(row.to_id), ope, body,
      });
      return { toId: Number(row.to_id), type, conversationId, seq };
    });
    this.notifier.notify({
      userIds: recipients,
      frame: editedFrame({ fromId: senderId, toId: edited.toId, ope, type: edited.type, body, id: messageId, convId: edited.conversationId, seq: edited.seq, time: now }),
      stream: { key: `c${edited.conversationId}`, seq: edited.seq },
      feature: Feature.Edit,
    });
    return { id: messageId, conversation_id: edited.conversationId, seq: edited.seq, edited_at: now };
  }

  /**
   * The new body through the word filter and the before-send hook, as a send's (outside the
   * transaction: the hook is an HTTP call). Only for the sender's own message of this kind; any
   * other id is refused by the transaction's checks, unscreened.
   */
  private async screen(senderId: number, messageId: number, ope: 0 | 1, body: string): Promise<string> {
    const row = await this.db.selectFrom('messages').select(['sender_id', 'to_id', 'ope', 'type']).where('id', '=', messageId).executeTakeFirst();
    if (!row || Number(row.sender_id) !== senderId || Number(row.ope) !== ope) return body;
    const message = { from_id: senderId, to_id: Number(row.to_id), ope, type: Number(row.type), body, client_msg_id: null, reply_to: null, mentions: null, edit_of: messageId };
    return this.moderation.message(message, true);
  }
}
