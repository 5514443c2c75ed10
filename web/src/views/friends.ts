import { fill, refill, h } from '../dom.js';
import { t } from '../i18n.js';
import { api, attempt, loadFriends, loadOnline, loadRequests, openConv } from '../session.js';
import { displayName, remember, state } from '../store.js';
import type { User } from '../types.js';

export function dot(userId: number): HTMLElement {
  const on = state.online.has(userId);
  return h('span', { class: `dot${on ? ' on' : ''}`, title: t(on ? 'online' : 'offline'), 'aria-label': t(on ? 'online' : 'offline') });
}

/** Friends: search and ask, incoming requests (accept/reject), the list with presence dots. */
export function friendsView(): { el: HTMLElement; update: () => void } {
  let results: User[] | undefined;
  const asked = new Set<number>();
  const word = h('input', { name: 'user-search', type: 'search', placeholder: t('searchUsers'), maxlength: 20 });
  const found = h('ul', { class: 'list compact results' });
  const requests = h('div');
  const friends = h('ul', { class: 'list friends' });

  const search = async (e: Event) => {
    e.preventDefault();
    if (word.value.trim().length < 2) return void (refill(found, h('li', { class: 'empty' }, t('atLeast2'))));
    const data = await attempt(() => api.call('/im/friend/search', { word: word.value.trim() }) as Promise<{ list: User[] }>);
    results = data?.list.filter((u) => u.id !== state.me?.id);
    if (results) remember(results);
    update();
  };
  const ask = async (u: User) => {
    const r = await attempt(() => api.call('/im/friend/add/request', { f_uid: u.id }) as Promise<{ accepted: boolean }>, 'requestSent');
    if (!r) return;
    asked.add(u.id);
    if (r.accepted) await loadFriends().then(loadOnline);
    update();
  };
  const handle = async (id: number, status: 1 | -1) => {
    await attempt(() => api.call('/im/friend/add/handle', { request_id: id, status }), status === 1 ? 'nowFriends' : undefined);
    await Promise.all([loadRequests(), loadFriends()]);
    await loadOnline();
  };

  const update = () => {
    const friendIds = new Set(state.friends.map((f) => f.id));
    if (results === undefined) refill(found);
    else if (results.length === 0) refill(found, h('li', { class: 'empty' }, t('noResults')));
    else
      refill(
        found,
        results.map((u) =>
          h(
            'li',
            { 'data-user': u.username },
            h('span', { class: 'title' }, displayName(u), h('small', null, ` @${u.username}`)),
            friendIds.has(u.id) ? h('span', { class: 'tag' }, t('isFriend')) : asked.has(u.id) ? h('span', { class: 'tag' }, t('requested')) : h('button', { class: 'small primary', name: 'add-friend', onclick: () => void ask(u) }, t('add')),
          ),
        ),
      );
    refill(
      requests,
      state.requests.length === 0
        ? null
        : [
            h('h3', null, t('requests')),
            h(
              'ul',
              { class: 'list compact requests' },
              state.requests.map((r) =>
                h(
                  'li',
                  { 'data-user': r.from.username },
                  h('span', { class: 'title' }, displayName(r.from), h('small', null, ` @${r.from.username}`)),
                  h('span', { class: 'actions' }, h('button', { class: 'small primary', name: 'accept', onclick: () => void handle(r.id, 1) }, t('accept')), h('button', { class: 'small', name: 'reject', onclick: () => void handle(r.id, -1) }, t('reject'))),
                ),
              ),
            ),
          ],
    );
    if (state.friends.length === 0) refill(friends, h('li', { class: 'empty' }, t('noFriends')));
    else
      refill(
        friends,
        state.friends.map((f) =>
          h('li', { class: 'clickable', 'data-user': f.username, onclick: () => openConv(0, f.id) }, dot(f.id), h('span', { class: 'title' }, displayName(f), h('small', null, ` @${f.username}`)), h('span', { class: 'muted' }, t(state.online.has(f.id) ? 'online' : 'offline'))),
        ),
      );
  };
  const el = h(
    'div',
    { class: 'panel' },
    h('form', { class: 'row search', onsubmit: search }, word, h('button', { type: 'submit', name: 'search-users' }, t('search'))),
    found,
    requests,
    h('h3', null, t('myFriends')),
    friends,
  );
  update();
  return { el, update };
}
