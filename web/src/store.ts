import type { ConnectionState } from '../../src/client/index.js';
import type { Conv, FriendRequest, Group, HistoryItem, Item, JoinRequest, Tab, User } from './types.js';

/** Everything the views draw from; views subscribe and redraw when `changed()` is called. */
export const state = {
  me: undefined as User | undefined,
  connection: 'connecting' as ConnectionState,
  tab: 'chats' as Tab,
  convs: new Map<string, Conv>(),
  open: undefined as string | undefined,
  friends: [] as User[],
  requests: [] as FriendRequest[],
  online: new Set<number>(),
  groups: [] as Group[],
  joinRequests: [] as JoinRequest[],
  /** Names of users met in groups and searches, for senders who are not friends. */
  names: new Map<number, string>(),
  /** Who is typing where: conversation key → user id → until (epoch ms), from Cmd 28. */
  typing: new Map<string, Map<number, number>>(),
};

/** The users typing in a conversation now. */
export function typingIn(key: string, now = Date.now()): number[] {
  return [...(state.typing.get(key) ?? new Map<number, number>())].filter(([, until]) => until > now).map(([userId]) => userId);
}

const listeners = new Set<() => void>();
let queued = false;

export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Redraws every subscriber once, at the end of this turn (many changes, one redraw). */
export function changed(): void {
  if (queued) return;
  queued = true;
  queueMicrotask(() => {
    queued = false;
    for (const fn of listeners) fn();
  });
}

export function reset(): void {
  state.me = undefined;
  state.connection = 'connecting';
  state.tab = 'chats';
  state.convs.clear();
  state.open = undefined;
  state.friends = [];
  state.requests = [];
  state.online.clear();
  state.groups = [];
  state.joinRequests = [];
  state.names.clear();
  state.typing.clear();
}

export const displayName = (u: Pick<User, 'nickname' | 'username'>) => u.nickname || u.username;

export function nameOf(userId: number): string {
  if (userId === state.me?.id) return displayName(state.me);
  const friend = state.friends.find((f) => f.id === userId);
  return friend ? displayName(friend) : (state.names.get(userId) ?? `#${userId}`);
}

export function remember(users: User[]): void {
  for (const u of users) state.names.set(u.id, displayName(u));
}

/** The conversation with a friend (ope 0) or a group (ope 1), made empty when new. */
export function conv(ope: 0 | 1, target: number): Conv {
  const key = `${ope === 1 ? 'g' : 'u'}:${target}`;
  let c = state.convs.get(key);
  if (!c) {
    const title = ope === 1 ? (state.groups.find((g) => g.id === target)?.name ?? `#${target}`) : nameOf(target);
    c = { key, ope, target, convId: undefined, title, lastSeq: 0, readSeq: 0, unread: 0, last: undefined, updatedAt: 0, peerRead: 0, messages: new Map(), hasMore: undefined };
    state.convs.set(key, c);
  }
  return c;
}

export function convById(convId: number): Conv | undefined {
  for (const c of state.convs.values()) if (c.convId === convId) return c;
  return undefined;
}

export function itemOf(m: HistoryItem): Item {
  return { seq: m.seq, id: m.id, from: m.from_id, type: m.type, body: m.body, withdrawn: m.withdrawn, time: m.created_at, own: m.from_id === state.me?.id, edited: m.edited_at != null };
}

export function totalUnread(): number {
  let n = 0;
  for (const c of state.convs.values()) n += c.unread;
  return n;
}
