import { fill, h, icon, PAPERCLIP, refill, time } from '../dom.js';
import { t } from '../i18n.js';
import { api, attempt, loadHistory, markRead, pane, send, typing } from '../session.js';
import { nameOf, remember, state, typingIn } from '../store.js';
import type { Conv, Item, Member } from '../types.js';
import { dot } from './friends.js';

interface Pending {
  key: string;
  label: string;
  failed: boolean;
}

/** What /im/chat/upload takes as a picture (type 1); anything else goes as a file (type 6). */
const PICTURES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
const fileName = (url: string) => decodeURIComponent(url.split('?')[0]!.split('/').pop() ?? url);

/** Only this server's paths and http(s) URLs become links or pictures (the server checks media bodies too). */
const safeUrl = (url: string) => (url.startsWith('/') && !url.startsWith('//')) || /^https?:\/\//i.test(url);

function body(item: Item): HTMLElement {
  if (item.withdrawn) return h('div', { class: 'body withdrawn' }, t('withdrawn'));
  if ([1, 2, 3, 6].includes(item.type) && !safeUrl(item.body)) return h('div', { class: 'body' }, item.body);
  if (item.type === 1) return h('a', { class: 'body pic', href: item.body, target: '_blank', rel: 'noopener' }, h('img', { src: item.body, alt: t('picture'), loading: 'lazy' }));
  if (item.type === 2 || item.type === 3 || item.type === 6) {
    const label = t(item.type === 6 ? 'fileLink' : item.type === 2 ? 'voiceLink' : 'videoLink');
    const ext = fileName(item.body).split('.').pop()?.toUpperCase() ?? '';
    return h('div', { class: 'body file' }, h('a', { href: item.body, target: '_blank', rel: 'noopener', download: '' }, icon(PAPERCLIP), `${label} · ${ext}`));
  }
  if (item.type === 4) return h('div', { class: 'body' }, t('location'));
  return h('div', { class: 'body' }, item.body);
}

/** The open conversation: history (paged up), live messages, the composer with uploads. */
export function chatView(): { el: HTMLElement; update: () => void } {
  const pending: Pending[] = [];
  let shownKey: string | undefined;
  let membersOpen = false;
  let members: Member[] | undefined;
  const header = h('header', { class: 'chat-head' });
  const list = h('div', { class: 'messages', role: 'log' });
  const side = h('aside', { class: 'members' });
  const input = h('textarea', { name: 'message', rows: 1, placeholder: t('typeMessage'), maxlength: 5000 });
  const file = h('input', { type: 'file', name: 'file', class: 'hidden', onchange: () => void upload() });
  const current = (): Conv | undefined => (state.open ? state.convs.get(state.open) : undefined);

  const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const bubble = (c: Conv, item: Item) => {
    const prompt = item.type === 10;
    return h(
      'div',
      { class: `msg${item.own ? ' own' : ''}${prompt ? ' prompt' : ''}`, 'data-seq': item.seq },
      c.ope === 1 && !item.own && !prompt ? h('div', { class: 'who' }, nameOf(item.from)) : null,
      body(item),
      h('div', { class: 'meta' }, time(item.time), item.edited && !item.withdrawn ? h('span', { class: 'edited' }, ` · ${t('edited')}`) : null, item.own && c.ope === 0 && item.seq <= c.peerRead ? h('span', { class: 'read' }, ` · ${t('read')}`) : null),
    );
  };
  const drawMessages = (keepBottom: boolean) => {
    const c = current();
    if (!c) return;
    const wasBottom = keepBottom || atBottom();
    const oldHeight = list.scrollHeight;
    const oldTop = list.scrollTop;
    const items = [...c.messages.values()].sort((a, b) => a.seq - b.seq);
    fill(
      list,
      c.hasMore ? h('button', { class: 'link more', name: 'load-earlier', onclick: () => void loadHistory(c.key) }, t('loadEarlier')) : c.hasMore === false && items.length > 0 ? h('div', { class: 'more muted' }, t('noMore')) : null,
      items.map((item) => bubble(c, item)),
      pending.filter((p) => p.key === c.key).map((p) => h('div', { class: `msg own pending${p.failed ? ' failed' : ''}` }, h('div', { class: 'body' }, p.label), h('div', { class: 'meta' }, t(p.failed ? 'failed' : 'sending')))),
    );
    list.scrollTop = wasBottom ? list.scrollHeight : oldTop + (list.scrollHeight - oldHeight);
  };
  const drawHeader = () => {
    const c = current();
    if (!c) return fill(header);
    const group = c.ope === 1 ? state.groups.find((g) => g.id === c.target) : undefined;
    refill(
      header,
      h('div', { class: 'chat-title' }, c.ope === 0 ? dot(c.target) : null, h('h2', null, c.title), typingLine(c) ?? (c.ope === 0 ? h('span', { class: 'muted' }, t(state.online.has(c.target) ? 'online' : 'offline')) : null)),
      c.ope === 1 ? h('button', { class: 'small', name: 'members', onclick: () => void toggleMembers() }, `${t('members')}${group ? ` (${group.member_count})` : ''}`) : null,
    );
  };
  const drawMembers = () => {
    const c = current();
    side.className = membersOpen && c?.ope === 1 ? 'members open' : 'members';
    if (!membersOpen || !members) return fill(side);
    refill(side, h('h3', null, t('members')), h('ul', { class: 'list compact member-list' }, members.map((m) => h('li', { 'data-user': m.username }, h('span', { class: 'title' }, nameOf(m.id)), m.role !== 'member' ? h('span', { class: 'tag' }, t(m.role)) : null))));
  };
  const toggleMembers = async () => {
    const c = current();
    membersOpen = !membersOpen;
    if (membersOpen && c?.ope === 1) {
      members = (await attempt(() => api.call('/im/group/members', { group_id: c.target }) as Promise<{ list: Member[] }>))?.list;
      if (members) remember(members);
    }
    drawMembers();
  };

  const track = (key: string, label: string, work: () => Promise<void>) => {
    const p: Pending = { key, label, failed: false };
    pending.push(p);
    drawMessages(true);
    work().then(
      () => pending.splice(pending.indexOf(p), 1),
      (err: unknown) => {
        p.failed = true;
        attempt(() => Promise.reject(err));
      },
    ).finally(() => state.open === key && drawMessages(true));
  };
  const submit = (e?: Event) => {
    e?.preventDefault();
    const c = current();
    const text = input.value;
    if (!c || !text.trim()) return;
    input.value = '';
    track(c.key, text, () => send(c.key, 0, text));
  };
  const upload = async () => {
    const c = current();
    const f = file.files?.[0];
    file.value = '';
    if (!c || !f) return;
    const picture = PICTURES.includes(f.type);
    track(c.key, `${picture ? t('picture') : t('file')} ${f.name}`, async () => {
      const up = await api.upload(f, picture ? 1 : 6, f.name);
      await send(c.key, picture ? 1 : 6, up.url);
    });
  };
  const typingLine = (c: Conv) => {
    const who = typingIn(c.key);
    if (who.length === 0) return null;
    return h('span', { class: 'muted typing' }, c.ope === 0 ? t('typing') : `${who.map(nameOf).join(', ')} ${t('typing')}`);
  };
  input.addEventListener('input', () => {
    const c = current();
    if (c && input.value.trim()) typing(c.key);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) submit(e);
  });

  const composer = h(
    'form',
    { class: 'composer', onsubmit: submit },
    h('label', { class: 'button attach', title: t('attach'), 'aria-label': t('attach') }, icon(PAPERCLIP), file),
    input,
    h('button', { type: 'submit', class: 'primary', name: 'send' }, t('send')),
  );
  const empty = h('div', { class: 'placeholder' }, t('pickChat'));
  const el = h('section', { class: 'chat' });

  pane.redraw = () => {
    update();
    drawMessages(false);
  };
  pane.item = (key, item) => {
    const c = current();
    if (!c || key !== c.key) return;
    const last = list.lastElementChild as HTMLElement | null;
    const pendingShown = pending.some((p) => p.key === key);
    if (!pendingShown && last?.dataset.seq && Number(last.dataset.seq) < item.seq) {
      const stay = atBottom() || item.own;
      list.appendChild(bubble(c, item));
      if (stay) list.scrollTop = list.scrollHeight;
    } else drawMessages(item.own);
  };
  document.addEventListener('visibilitychange', () => state.open && document.visibilityState === 'visible' && markRead(state.open));

  function update(): void {
    const c = current();
    if (!c) {
      shownKey = undefined;
      return fill(el, empty);
    }
    if (shownKey !== c.key) {
      shownKey = c.key;
      membersOpen = false;
      members = undefined;
      fill(el, h('div', { class: 'chat-main' }, header, list, composer), side);
      drawMessages(true);
      input.focus();
    }
    drawHeader();
    drawMembers();
  }
  update();
  return { el, update };
}
