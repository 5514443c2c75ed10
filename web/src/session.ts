import { ApiError, LocalStorageCursorStore, type MessageFrame, WeimApi, WeimClient } from '../../src/client/index.js';
import { toast } from './dom.js';
import { currentLang, type Key, t } from './i18n.js';
import { changed, conv, convById, displayName, itemOf, remember, reset, state } from './store.js';
import type { ConversationItem, FriendRequest, Group, HistoryItem, Item, JoinRequest, User } from './types.js';

const SESSION_KEY = 'weim:session';

/** The REST API (token from localStorage) and, once signed in, the socket client. */
// Server error messages come in the UI's language.
export const api = new WeimApi(location.origin, { lang: currentLang });
// A call past half the token's life answers a fresh one: keep it, so the session outlives the first token.
api.onToken = (token) => {
  const saved = savedSession();
  if (saved) localStorage.setItem(SESSION_KEY, JSON.stringify({ ...saved, token }));
};
let client: WeimClient | undefined;
/** Called when the session starts or ends (main.ts switches between the login and the app). */
let onSession: (signedIn: boolean) => void = () => {};
/** The chat pane's hooks: an item to draw, a redraw. */
export const pane = { item: (_c: string, _i: Item) => {}, redraw: () => {} };

export function onSessionChange(fn: (signedIn: boolean) => void): void {
  onSession = fn;
}

export function savedSession(): { token: string; user: User } | undefined {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

/** Reports a failed call as a toast; a refused token ends the session. */
export function fail(err: unknown): void {
  if (err instanceof ApiError && err.code === 1001 && state.me) {
    void logout(false);
    return;
  }
  toast(err instanceof Error ? err.message : String(err));
}

/** Runs `fn`, toasting its failure (for click handlers). */
export function attempt<T>(fn: () => Promise<T>, ok?: Key): Promise<T | undefined> {
  return fn().then(
    (v) => {
      if (ok) toast(t(ok));
      return v;
    },
    (err: unknown) => {
      fail(err);
      return undefined;
    },
  );
}

export async function signIn(path: '/login' | '/register', username: string, password: string): Promise<void> {
  const data = (await api.call(path, { username, password })) as { t: string; user: User };
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token: data.t, user: data.user }));
  await start(data.t, data.user);
}

export async function logout(callServer = true): Promise<void> {
  if (callServer) await api.call('/logout').catch(() => {});
  client?.stop();
  client = undefined;
  api.token = undefined;
  namedGroups.clear();
  localStorage.removeItem(SESSION_KEY);
  reset();
  onSession(false);
}

/** Loads what the app shows, then opens the socket (it syncs from the cursors kept in localStorage). */
export async function start(token: string, user: User): Promise<void> {
  api.token = token;
  state.me = user;
  onSession(true);
  try {
    const info = (await api.call('/user/info')) as { user?: User } & User;
    state.me = { ...user, ...(info.user ?? info) };
  } catch (err) {
    if (err instanceof ApiError && err.code === 1001) return logout(false);
  }
  await Promise.all([loadGroups(), loadFriends(), loadRequests(), loadJoinRequests()]).catch(fail);
  await loadConversations().catch(fail);
  const me = state.me;
  const store = new LocalStorageCursorStore(`weim:cursors:${me.id}`);
  // A browser new to this user starts each listed conversation where the list is, instead of
  // having the sync replay its whole history (the pane reads history page by page when opened).
  if (!(await store.load())) {
    const conversations: Record<string, number> = {};
    for (const c of state.convs.values()) if (c.convId !== undefined) conversations[c.convId] = c.lastSeq;
    store.save({ conversations, events: 0 });
  }
  client = new WeimClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
    // The newest token at each sign-in (a REST call may have brought a fresh one).
    token: () => api.token ?? token,
    store,
    backoff: { minMs: 250, maxMs: 5000 },
    lang: currentLang,
  });
  client.on('state', (s) => {
    state.connection = s;
    if (s === 'online') void loadOnline();
    if (s === 'offline') state.online.clear(); // unknown while away: asked again once back
    if (s === 'signed-out') {
      toast(t('signedOut'));
      void logout(false);
    }
    changed();
  });
  client.on('message', onMessage);
  client.on('read', ({ userId, convId, seq }) => {
    const c = convById(convId);
    if (!c) return;
    if (userId === me.id) {
      c.readSeq = Math.max(c.readSeq, seq);
      if (c.readSeq >= c.lastSeq) c.unread = 0;
    } else c.peerRead = Math.max(c.peerRead, seq);
    changed();
    if (state.open === c.key) pane.redraw();
  });
  // Typing notices (Cmd 28) show for TYPING_SHOW_MS after the last one, or until that user's message.
  client.on('typing', ({ userId, toId, ope }) => {
    const key = conv(ope, ope === 1 ? toId : userId).key;
    let who = state.typing.get(key);
    if (!who) state.typing.set(key, (who = new Map()));
    who.set(userId, Date.now() + TYPING_SHOW_MS);
    setTimeout(() => state.open === key && pane.redraw(), TYPING_SHOW_MS + 50);
    if (state.open === key) pane.redraw();
  });
  client.on('presence', ({ userId, online }) => {
    if (online) state.online.add(userId);
    else state.online.delete(userId);
    changed();
  });
  // Events (live, or many at once in a sync) only say "look again": each list is fetched once per burst.
  client.on('event', (f) => {
    if (f.Cmd === 8) soon(loadRequests);
    if (f.Cmd === 9) soon(loadFriendsAndOnline);
    if (f.Cmd === 12) soon(loadJoinRequests);
    if (f.Cmd === 13 || f.Cmd === 14) soon(loadGroups);
  });
  await client.start();
}

function onMessage(m: MessageFrame): void {
  const me = state.me!.id;
  const own = Boolean(m.own) || m.FromId === me;
  const c = conv(m.Ope === 1 ? 1 : 0, m.Ope === 1 || own ? m.ToId : m.FromId);
  c.convId = m.ConvId;
  const fresh = m.Seq > c.lastSeq;
  if (m.Cmd === 29) {
    // An edit: the message (if shown) reads the new body.
    for (const item of c.messages.values()) if (item.id === m.Id) Object.assign(item, { body: m.Body, edited: true });
    if (c.last && c.last.id === m.Id) Object.assign(c.last, { body: m.Body, edited: true });
    if (fresh) c.lastSeq = m.Seq;
    changed();
    if (state.open === c.key) pane.redraw();
    return;
  }
  if (m.Cmd === 7 || m.Cmd === 11) {
    const id = Number(m.Body);
    for (const item of c.messages.values()) if (item.id === id) Object.assign(item, { withdrawn: true, body: '' });
    if (c.last?.id === id) Object.assign(c.last, { withdrawn: true, body: '' });
    if (fresh) c.lastSeq = m.Seq;
    changed();
    if (state.open === c.key) pane.redraw();
    return;
  }
  const item: Item = { seq: m.Seq, id: m.Id ?? 0, from: own ? me : m.FromId, type: m.Type, body: m.Body, withdrawn: Boolean((m as { Withdrawn?: boolean }).Withdrawn), time: m.Time ?? Date.now(), own };
  if (!own && state.typing.get(c.key)?.delete(m.FromId) && state.open === c.key) pane.redraw();
  c.messages.set(item.seq, item);
  if (fresh) {
    c.lastSeq = m.Seq;
    c.last = item;
    c.updatedAt = item.time;
    if (own) c.readSeq = Math.max(c.readSeq, m.Seq);
    else if (state.open === c.key && document.visibilityState === 'visible') markRead(c.key);
    else c.unread++;
  }
  if (c.title.startsWith('#')) scheduleConversations();
  changed();
  if (state.open === c.key) pane.item(c.key, item);
}

/** Tells the server the open conversation is read up to its last seq (socket when online, else REST). */
export function markRead(key: string): void {
  const c = state.convs.get(key);
  if (!c || c.convId === undefined || c.lastSeq <= c.readSeq) return;
  c.readSeq = c.lastSeq;
  c.unread = 0;
  if (client && state.connection === 'online') client.read(c.convId, c.lastSeq);
  else void api.call('/im/chat/read', { conversation_id: c.convId, seq: c.lastSeq }).catch(() => {});
  changed();
}

export function openConv(ope: 0 | 1, target: number): void {
  const c = conv(ope, target);
  state.open = c.key;
  markRead(c.key);
  changed();
  pane.redraw();
  if (c.hasMore === undefined) void loadHistory(c.key);
  if (ope === 1) void loadMemberNames(target);
}

/** Group chats name their senders: the first page of members is remembered once per group. */
const namedGroups = new Set<number>();
async function loadMemberNames(groupId: number): Promise<void> {
  if (namedGroups.has(groupId)) return;
  namedGroups.add(groupId);
  const page = (await api.call('/im/group/members', { group_id: groupId }).catch(() => undefined)) as { list: User[] } | undefined;
  if (!page) {
    namedGroups.delete(groupId); // asked again next time
    return;
  }
  remember(page.list);
  if (state.open === `g:${groupId}`) pane.redraw();
}

/** The page of history before what the pane holds (the newest page first). */
export async function loadHistory(key: string): Promise<void> {
  const c = state.convs.get(key);
  if (!c) return;
  const seqs = [...c.messages.keys()];
  const before = c.hasMore === undefined || seqs.length === 0 ? undefined : Math.min(...seqs);
  const target = c.ope === 1 ? { group_id: c.target } : { to_uid: c.target };
  try {
    const page = (await api.call('/im/chat/history', { ...target, ...(before ? { before_seq: before } : {}), limit: 30 })) as { conversation_id?: number; list: HistoryItem[]; has_more: boolean };
    if (page.conversation_id) c.convId = page.conversation_id;
    for (const m of page.list) if (!c.messages.has(m.seq)) c.messages.set(m.seq, itemOf(m));
    c.hasMore = page.has_more;
    const newest = page.list[0];
    if (newest && newest.seq > c.lastSeq) {
      c.lastSeq = newest.seq;
      c.last = itemOf(newest);
    }
    if (state.open === key) markRead(key);
  } catch (err) {
    fail(err);
  }
  if (state.open === key) pane.redraw();
}

const TYPING_SHOW_MS = 6000;
const TYPING_EVERY_MS = 3000;
let typingSent = { key: '', at: 0 };
/** While the user types: Cmd 27 to the conversation, at most every TYPING_EVERY_MS. */
export function typing(key: string): void {
  const c = state.convs.get(key);
  const now = Date.now();
  if (!c || !client || (typingSent.key === key && now - typingSent.at < TYPING_EVERY_MS)) return;
  typingSent = { key, at: now };
  client.typing(c.target, c.ope);
}

/** Sends a message; resolves once stored (the client resends across reconnects until then). */
export async function send(key: string, type: number, body: string): Promise<void> {
  const c = state.convs.get(key);
  if (!c || !client) return;
  await client.send(c.target, c.ope, type, body);
}

const timers = new Map<() => Promise<void>, ReturnType<typeof setTimeout>>();
/** Runs a loader 200 ms after the last call for it (a burst of events, one fetch). */
function soon(loader: () => Promise<void>): void {
  clearTimeout(timers.get(loader));
  timers.set(loader, setTimeout(() => void loader().catch(fail), 200));
}
const loadFriendsAndOnline = () => loadFriends().then(loadOnline);
const scheduleConversations = () => soon(loadConversations);

export async function loadConversations(): Promise<void> {
  const { list } = (await api.call('/im/conversation/list')) as { list: ConversationItem[] };
  for (const item of list) {
    if (item.peer) remember([item.peer]);
    const target = item.ope === 1 ? item.group?.id : item.peer?.id;
    if (target === undefined) continue;
    const c = conv(item.ope === 1 ? 1 : 0, target);
    c.convId = item.conversation_id;
    c.title = item.ope === 1 ? (item.group?.name ?? c.title) : displayName(item.peer!);
    if (item.last_seq >= c.lastSeq) {
      c.lastSeq = item.last_seq;
      c.readSeq = item.read_seq;
      c.unread = state.open === c.key ? 0 : item.unread;
      c.last = item.last_message ? itemOf(item.last_message) : c.last;
      c.updatedAt = item.updated_at;
    }
    if (state.open === c.key) markRead(c.key);
  }
  changed();
}

export async function loadFriends(): Promise<void> {
  state.friends = ((await api.call('/im/friend/list')) as { list: User[] }).list;
  remember(state.friends);
  for (const f of state.friends) {
    const c = state.convs.get(`u:${f.id}`);
    if (c) c.title = displayName(f);
  }
  changed();
}

export async function loadOnline(): Promise<void> {
  if (state.friends.length === 0) return;
  const { list } = (await api.call('/im/friend/online', { user_ids: state.friends.map((f) => f.id) })) as { list: { id: number; online: boolean }[] };
  state.online = new Set(list.filter((x) => x.online).map((x) => x.id));
  changed();
}

export async function loadRequests(): Promise<void> {
  state.requests = ((await api.call('/im/friend/add/reqs')) as { list: FriendRequest[] }).list;
  changed();
}

export async function loadGroups(): Promise<void> {
  state.groups = ((await api.call('/im/group/my')) as { list: Group[] }).list;
  for (const g of state.groups) {
    const c = state.convs.get(`g:${g.id}`);
    if (c) c.title = g.name;
  }
  changed();
}

export async function loadJoinRequests(): Promise<void> {
  state.joinRequests = ((await api.call('/im/group/join/list')) as { list: JoinRequest[] }).list;
  changed();
}
