import type { Db } from '../../db/database.js';
import type { StreamPosition } from '../../notify/notifier.js';
import type { ServerFrame } from '../../notify/server-frames.js';
import type { Cursors } from './cursors.js';
import { lastUserEventSeq, userEventsAfter } from '../conversations/index.js';
import { editFromRow, eventFromRow, groupEventFromRow, messageFromRow, reactionFromRow, withdrawFromRow } from './frames.js';
import { type ConversationRef, conversationsOf, editsBetween, groupEventsBetween, type MessageRow, messagesInRanges, reactionsBetween, withdrawsBetween } from './sync.repo.js';

export interface SyncItem {
  frame: ServerFrame;
  stream: StreamPosition;
}

export interface SyncPage {
  /** Per conversation in seq order, then the user's events in seq order. */
  items: SyncItem[];
  /** Cursors after this page (pass them back for the next page). */
  next: Cursors;
  /** Where this page read each conversation from (the cursor, or the start of the user's membership). */
  start: Map<number, number>;
  /** More was missed than one page holds. */
  more: boolean;
}

/**
 * Everything a user missed since their cursors: messages and withdraws of every conversation
 * they are in (groups only from their join), and their own events. Reads only conversations
 * whose last seq is past the cursor, and within them only the missed range, so the cost follows
 * what was missed, not history or group size.
 */
export interface PageScope {
  /** Only these conversations (others are neither read nor in `next`). */
  conversations?: ReadonlySet<number>;
  /** Read the user's events too (default true). */
  events?: boolean;
}

/** What a page reads of one conversation: `from < seq <= upTo`, with `room` items at most. */
interface Range {
  c: ConversationRef;
  from: number;
  upTo: number;
  room: number;
}

export class SyncService {
  constructor(
    private readonly db: Db,
    private readonly pageSize = 1000,
  ) {}

  async page(userId: number, cursors: Cursors, limit = this.pageSize, scope: PageScope = {}): Promise<SyncPage> {
    const next: Cursors = { conversations: new Map(), events: cursors.events };
    const start = new Map<number, number>();
    let more = false;
    const only = scope.conversations;
    const onlyId = only?.size === 1 ? [...only][0] : undefined;
    // Every seq of a conversation is taken by exactly one event: a message, a withdraw, an edit, a
    // reaction or a group event (one counter hands them all out, in the transaction that writes
    // the event). So a range of n seqs is n items, and the page's room is shared out among the
    // conversations before anything is read.
    const ranges: Range[] = [];
    let left = limit;
    // The user's events do not depend on the conversations: read beside them, as many as a whole
    // page holds (what the conversations leave room for is kept), one round trip fewer a sync.
    const [conversations, events] = await Promise.all([
      conversationsOf(this.db, userId, onlyId),
      scope.events === false ? undefined : userEventsAfter(this.db, userId, cursors.events, limit),
    ]);
    for (const c of conversations) {
      if (only && !only.has(c.id)) continue;
      const from = Math.max(cursors.conversations.get(c.id) ?? 0, c.startSeq);
      next.conversations.set(c.id, from);
      start.set(c.id, from);
      if (c.lastSeq <= from) continue;
      if (left <= 0) {
        more = true;
        continue;
      }
      const upTo = Math.min(c.lastSeq, from + left);
      ranges.push({ c, from, upTo, room: left });
      left -= upTo - from;
      next.conversations.set(c.id, upTo);
      if (upTo < c.lastSeq) more = true;
    }
    const items = await this.read(userId, ranges);
    if (events === undefined) return { items, next, start, more };
    const room = Math.max(0, limit - items.length);
    const kept = events.length > room ? events.slice(0, room) : events;
    for (const e of kept) items.push({ frame: eventFromRow(e), stream: { key: 'e', seq: Number(e.seq) } });
    if (kept.length > 0) next.events = Number(kept.at(-1)!.seq);
    // Events left out for want of room, or a whole page of them read: there may be more.
    if (events.length > kept.length || (events.length === limit && (await lastUserEventSeq(this.db, userId)) > next.events)) more = true;
    return { items, next, start, more };
  }

  /**
   * The items of `ranges`, conversation by conversation, each in seq order. The messages of every
   * range are read by one statement; a conversation's withdraws, edits, reactions and group
   * events only when its messages leave seqs of its range unaccounted for. A sync of plain
   * messages is then one statement whatever the number of conversations (a reconnect storm's
   * sign-ins, a user back after days), instead of four or five a conversation, one after another.
   */
  private async read(userId: number, ranges: readonly Range[]): Promise<SyncItem[]> {
    if (ranges.length === 0) return [];
    const messagesOf = new Map<number, MessageRow[]>();
    for (const m of await messagesInRanges(this.db, ranges.map((r) => ({ conversationId: r.c.id, after: r.from, upTo: r.upTo })))) {
      const id = Number(m.conversation_id);
      const list = messagesOf.get(id);
      if (list) list.push(m);
      else messagesOf.set(id, [m]);
    }
    const items: SyncItem[] = [];
    // One conversation at a time, as before, when its other tables are read (a burst of four
    // statements a conversation at once would hold the pool from everyone else).
    for (const { c, from, upTo, room } of ranges) {
      const messages = messagesOf.get(c.id) ?? [];
      const [withdraws, edits, reactions, groupEvents] = messages.length === upTo - from ? [[], [], [], []] : await Promise.all([
        withdrawsBetween(this.db, c.id, from, upTo, room),
        editsBetween(this.db, c.id, from, upTo, room),
        reactionsBetween(this.db, c.id, from, upTo, room),
        c.groupId === null ? [] : groupEventsBetween(this.db, c.id, from, upTo, room),
      ]);
      const merged = [
        ...messages.map((m) => ({ frame: messageFromRow(m, c.id, userId), stream: { key: `c${c.id}`, seq: Number(m.seq) } })),
        ...withdraws.map((w) => ({ frame: withdrawFromRow(w, c.id), stream: { key: `c${c.id}`, seq: Number(w.withdraw_seq) } })),
        ...edits.map((e) => ({ frame: editFromRow(e, c.id), stream: { key: `c${c.id}`, seq: Number(e.seq) } })),
        ...reactions.map((r) => ({ frame: reactionFromRow(r, c.id), stream: { key: `c${c.id}`, seq: Number(r.seq) } })),
        ...groupEvents.map((g) => ({ frame: groupEventFromRow(g, c.id), stream: { key: `c${c.id}`, seq: Number(g.seq) } })),
      ].sort((a, b) => a.stream.seq - b.stream.seq);
      items.push(...merged);
    }
    return items;
  }
}
