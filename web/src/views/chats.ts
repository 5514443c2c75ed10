import { fill, refill, h, time } from '../dom.js';
import { type Key, t } from '../i18n.js';
import { openConv } from '../session.js';
import { state } from '../store.js';
import type { Item } from '../types.js';

const KINDS: Record<number, Key> = { 1: 'picture', 2: 'voice', 3: 'video', 4: 'location', 6: 'file' };

export function preview(item: Item | undefined): string {
  if (!item) return '';
  if (item.withdrawn) return t('withdrawn');
  const kind = KINDS[item.type];
  return kind ? t(kind) : item.body.replace(/\s+/g, ' ').slice(0, 60);
}

/** The conversation list: newest first, with the last message and the unread count. */
export function chatsView(): { el: HTMLElement; update: () => void } {
  const el = h('ul', { class: 'list convs' });
  const update = () => {
    const convs = [...state.convs.values()].filter((c) => c.lastSeq > 0 || c.key === state.open).sort((a, b) => b.updatedAt - a.updatedAt);
    if (convs.length === 0) return refill(el, h('li', { class: 'empty' }, t('noChats')));
    refill(
      el,
      convs.map((c) =>
        h(
          'li',
          { class: `conv${c.key === state.open ? ' active' : ''}`, 'data-key': c.key, onclick: () => openConv(c.ope, c.target) },
          h('div', { class: `avatar${c.ope === 1 ? ' group' : ''}` }, c.title.slice(0, 1).toUpperCase(), c.ope === 0 && state.online.has(c.target) ? h('span', { class: 'dot on' }) : null),
          h(
            'div',
            { class: 'conv-main' },
            h('div', { class: 'conv-top' }, h('span', { class: 'title' }, c.title), h('span', { class: 'time' }, c.updatedAt ? time(c.updatedAt) : '')),
            h('div', { class: 'conv-bottom' }, h('span', { class: 'last' }, c.last && c.ope === 1 && !c.last.own ? `${state.names.get(c.last.from) ?? ''}${state.names.has(c.last.from) ? ': ' : ''}${preview(c.last)}` : preview(c.last)), c.unread > 0 ? h('span', { class: 'badge unread' }, c.unread > 99 ? '99+' : c.unread) : null),
          ),
        ),
      ),
    );
  };
  return { el, update };
}
