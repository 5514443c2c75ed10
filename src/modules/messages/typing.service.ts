import type { Db } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { Feature } from '../../notify/features.js';
import { typingFrame } from '../../notify/frames.js';
import { Ope, type Notifier } from '../../notify/notifier.js';
import { ConversationKind } from '../conversations/index.js';
import type { FriendsService } from '../friends/index.js';
import { memberIds } from '../groups/index.js';
import { notEntitled } from './messages.schema.js';

/**
 * "I am typing": relayed live to the friend's sockets, or to the other members' of a group of at
 * most `maxGroupMembers` (in a larger group it is dropped: a notice to thousands for every
 * keystroke burst is noise), and only to sockets that declared the `typing` feature. Never stored,
 * never synced, no stream position: a notice lost is a notice nobody needed. The sender must be
 * allowed to write there (friends; a member), checked as a send is. The gateway limits how often
 * one socket may send it.
 */
export class TypingService {
  constructor(
    private readonly db: Db,
    private readonly notifier: Notifier,
    private readonly friends: Pick<FriendsService, 'areFriends'>,
    private readonly maxGroupMembers: number,
  ) {}

  /** Returns how many users it was relayed to (0: a group too large). */
  async typing(senderId: number, ope: 0 | 1, toId: number): Promise<number> {
    let recipients: number[];
    if (ope === Ope.Friend) {
      if (toId === senderId) throw new AppError('type_to_self');
      if (!(await this.friends.areFriends(senderId, toId))) throw notEntitled(ConversationKind.Friend);
      recipients = [toId];
    } else {
      const members = await memberIds(this.db, toId);
      if (!members.includes(senderId)) throw notEntitled(ConversationKind.Group);
      if (members.length > this.maxGroupMembers) return 0;
      recipients = members.filter((m) => m !== senderId);
    }
    if (recipients.length === 0) return 0;
    this.notifier.notify({
      userIds: recipients,
      frame: typingFrame(senderId, toId, ope),
      feature: Feature.Typing,
    });
    return recipients.length;
  }
}
