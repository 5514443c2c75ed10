import type { Db } from '../../db/database.js';
import type { StreamPosition } from '../../notify/notifier.js';
import type { ServerFrame } from '../../notify/server-frames.js';
import type { Cursors } from './cursors.js';
import { lastUserEventSeq, userEventsAfter } from '../conversations/index.js';
import { editFromRow, eventFromRow, groupEventFromRow, messageFromRow, reactionFromRow, withdrawFromRow } from './frames.js';
import { conversationsOf, editsBetween, groupEventsBetween, reactionsBetween, streamBetween } from './sync.repo.js';

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

export class SyncService {
  constructor(
    private readonly db: Db,
    private readonly pageSize = 1000,
  ) {}

  async page(userId: number, cursors: Cursors, limit = this.pageSize, scope: PageScope = {}): Promise<SyncPage> {
    const items: SyncItem[] = [];
    const next: Cursors = { conversations: new Map(), events: cursors.events };
    const start = new Map<number, number>();
    let more = false;
    const only = scope.conversations;
    const onlyId = only?.size === 1 ? [...only][0] : undefined;
    for (const c of await conversationsOf(this.db, userId, onlyId)) {
      if (only && !only.has(c.id)) continue;
      const from = Math.max(cursors.conversations.get(c.id) ?? 0, c.startSeq);
      next.conversations.set(c.id, from);
      start.set(c.id, from);
      if (c.lastSeq <= from) continue;
      const room = limit - items.length;
      if (room <= 0) {
        more = true;
        continue;
      }
      const upTo = Math.min(c.lastSeq, from + room);
      const messages = await streamBetween(this.db, c.id, 'seq', from, upTo, room);
      // Every seq of a conversation is taken by exactly one event: a message, a withdraw, an edit,
      // a reaction or a group event (one counter hands them all out, in the transaction that
      // writes the event). Messages that fill the range leave nothing for the other four
      // statements to find, which then are not run: a sync of plain messages, the usual one,
      // costs one statement a conversation instead of four or five (sign-in storms, rolling restarts).
      const [withdraws, edits, reactions, groupEvents] = messages.length === upTo - from ? [[], [], [], []] : await Promise.all([
        streamBetween(this.db, c.id, 'withdraw_seq', from, upTo, room),
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
      next.conversations.set(c.id, upTo);
      if (upTo < c.lastSeq) more = true;
    }
    if (scope.events === false) return { items, next, start, more };
    const room = limit - items.length;
    if (room > 0) {
      const events = await userEventsAfter(this.db, userId, cursors.events, room);
      for (const e of events) items.push({ frame: eventFromRow(e), stream: { key: 'e', seq: Number(e.seq) } });
      if (events.length > 0) next.events = Number(events.at(-1)!.seq);
      if (events.length === room && (await lastUserEventSeq(this.db, userId)) > next.events) more = true;
    } else if ((await lastUserEventSeq(this.db, userId)) > cursors.events) {
      more = true;
    }
    return { items, next, start, more };
  }
}
