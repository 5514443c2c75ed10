import { fill, refill, GLOBE, h, icon } from '../dom.js';
import { type Key, t, toggleLang } from '../i18n.js';
import { logout } from '../session.js';
import { displayName, state, subscribe, totalUnread } from '../store.js';
import type { Tab } from '../types.js';
import { chatView } from './chat.js';
import { chatsView } from './chats.js';
import { friendsView } from './friends.js';
import { groupsView } from './groups.js';
import { nearbyView } from './nearby.js';

const TABS: Tab[] = ['chats', 'friends', 'groups', 'nearby'];
const BANNERS: Partial<Record<string, Key>> = { offline: 'reconnecting', connecting: 'connecting', syncing: 'syncing' };

/** The signed-in app: a top bar, the reconnect banner, the sidebar (tabs) and the chat pane. */
export function shellView(redraw: () => void): { el: HTMLElement; dispose: () => void } {
  const views = { chats: chatsView(), friends: friendsView(), groups: groupsView(), nearby: nearbyView() };
  const chat = chatView();
  const me = h('span', { class: 'me' });
  const banner = h('div', { class: 'banner', role: 'status' });
  const tabs = h('nav', { class: 'tabs' });
  const body = h('div', { class: 'side-body' });
  let shownTab: Tab | undefined;

  const update = () => {
    me.textContent = !state.me ? '' : displayName(state.me) === state.me.username ? `@${state.me.username}` : `${displayName(state.me)} @${state.me.username}`;
    const b = BANNERS[state.connection];
    banner.textContent = b ? t(b) : '';
    banner.className = b ? `banner show ${state.connection}` : 'banner';
    const counts: Record<Tab, number> = { chats: totalUnread(), friends: state.requests.length, groups: state.joinRequests.length, nearby: 0 };
    refill(
      tabs,
      TABS.map((tab) =>
        h(
          'button',
          { class: `tab${tab === state.tab ? ' active' : ''}`, name: `tab-${tab}`, onclick: () => ((state.tab = tab), update()) },
          t(tab),
          counts[tab] > 0 ? h('span', { class: 'badge' }, counts[tab] > 99 ? '99+' : counts[tab]) : null,
        ),
      ),
    );
    if (shownTab !== state.tab) {
      shownTab = state.tab;
      fill(body, views[state.tab].el);
    }
    views[state.tab].update();
    chat.update();
  };
  const el = h(
    'div',
    { class: 'app' },
    h(
      'header',
      { class: 'top' },
      h('strong', { class: 'brand' }, t('appName')),
      me,
      h('span', { class: 'spacer' }),
      h('button', { class: 'link lang', name: 'lang', title: t('switchLanguage'), onclick: () => (toggleLang(), redraw()) }, icon(GLOBE), t('language')),
      h('button', { class: 'small', name: 'logout', onclick: () => void logout() }, t('logout')),
    ),
    banner,
    h('div', { class: 'panes' }, h('aside', { class: 'side' }, tabs, body), chat.el),
  );
  update();
  return { el, dispose: subscribe(update) };
}
