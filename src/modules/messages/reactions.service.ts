import type { Db } from '../../db/database.js';
import { transact } from '../../db/transaction.js';
import { AppError } from '../../errors.js';
import type { RateLimiter } from '../../http/rate-limiter.js';
import { Feature } from '../../notify/features.js';
import { reactionFrame } from '../../notify/frames.js';
import type { Notifier } from '../../notify/notifier.js';
import { messageAudience } from './message-audience.js';
import { findMessageForUpdate, recordReaction } from './messages.repo.js';

/**
 * Reactions: anyone who can read a message (the friend pair; the group's members) puts an emoji on
 * it or takes it off. Each change is an event of the conversation's stream at a seq of its own
 * (reaction_events), pushed as Cmd 30 to sockets that declared the `reactions` feature, replayed by
 * sync; history carries each message's counts and whether the reader reacted. Putting on what is
 * on, or taking off what is not, changes nothing and takes no seq.
 */
export class ReactionsService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly limit: RateLimiter,
    private readonly options: { maxKinds: number },
    private readonly clock: () => number = Date.now,
  ) {}

  async react(userId: number, messageId: number, emoji: string, on: boolean): Promise<{ message_id: number; conversation_id: number; seq: number | null }> {
    await this.limit.consume(String(userId));
    const now = this.clock();
    let recipients: number[] = [];
    const outcome = await transact(this.db, async (trx) => {
      const row = await findMessageForUpdate(trx, messageId);
      if (!row) throw new AppError('message_not_found');
      const conversationId = Number(row.conversation_id);
      const ope = Number(row.ope);
      recipients = await messageAudience(trx, row, userId);
      if (row.withdrawn_at !== null) throw new AppError('message_withdrawn');
      const seq = await recordReaction(trx, { messageId, conversationId, userId, emoji, on, now, maxKinds: this.options.maxKinds });
      if (seq === false) throw new AppError('too_many_reaction_kinds', { max: this.options.maxKinds });
      return { conversationId, seq, ope, toId: Number(row.to_id) };
    });
    if (outcome.seq !== undefined) {
      this.notifier.notify({
        userIds: recipients,
        frame: reactionFrame({ userId, toId: outcome.toId, ope: outcome.ope, emoji, id: messageId, convId: outcome.conversationId, seq: outcome.seq, time: now, on }),
        stream: { key: `c${outcome.conversationId}`, seq: outcome.seq },
        feature: Feature.Reactions,
      });
    }
    return { message_id: messageId, conversation_id: outcome.conversationId, seq: outcome.seq ?? null };
  }
}
