import { fill, refill, h } from '../dom.js';
import { t } from '../i18n.js';
import { api, attempt, loadGroups, loadJoinRequests, openConv } from '../session.js';
import { displayName, state } from '../store.js';
import type { Group } from '../types.js';

/** Groups: create, search and ask to join, join requests to my groups, my groups. */
export function groupsView(): { el: HTMLElement; update: () => void } {
  let results: Group[] | undefined;
  const asked = new Set<number>();
  const name = h('input', { name: 'group-name', placeholder: t('newGroup'), maxlength: 30 });
  const word = h('input', { name: 'group-search', type: 'search', placeholder: t('searchGroups'), maxlength: 20 });
  const found = h('ul', { class: 'list compact results' });
  const requests = h('div');
  const mine = h('ul', { class: 'list groups' });

  const create = async (e: Event) => {
    e.preventDefault();
    if (!name.value.trim()) return;
    const r = await attempt(() => api.call('/im/group/create', { name: name.value.trim() }) as Promise<{ group: Group }>, 'groupCreated');
    if (!r) return;
    name.value = '';
    await loadGroups();
    openConv(1, r.group.id);
  };
  const search = async (e: Event) => {
    e.preventDefault();
    if (word.value.trim().length < 2) return void refill(found, h('li', { class: 'empty' }, t('atLeast2')));
    results = (await attempt(() => api.call('/im/group/search', { word: word.value.trim() }) as Promise<{ list: Group[] }>))?.list;
    update();
  };
  const join = async (g: Group) => {
    if (await attempt(() => api.call('/im/group/join/request', { group_id: g.id }), 'joinSent')) asked.add(g.id);
    update();
  };
  const handle = async (id: number, status: 1 | -1) => {
    await attempt(() => api.call('/im/group/join/handle', { join_id: id, status }));
    await Promise.all([loadJoinRequests(), loadGroups()]);
  };

  const update = () => {
    const mineIds = new Set(state.groups.map((g) => g.id));
    if (results === undefined) refill(found);
    else if (results.length === 0) refill(found, h('li', { class: 'empty' }, t('noResults')));
    else
      refill(
        found,
        results.map((g) =>
          h(
            'li',
            { 'data-group': g.name },
            h('span', { class: 'title' }, g.name, h('small', null, ` · ${g.member_count}`)),
            mineIds.has(g.id) ? h('span', { class: 'tag' }, t('member')) : asked.has(g.id) ? h('span', { class: 'tag' }, t('requested')) : h('button', { class: 'small primary', name: 'join', onclick: () => void join(g) }, t('join')),
          ),
        ),
      );
    const groupName = (id: number) => state.groups.find((g) => g.id === id)?.name ?? `#${id}`;
    refill(
      requests,
      state.joinRequests.length === 0
        ? null
        : [
            h('h3', null, t('joinRequests')),
            h(
              'ul',
              { class: 'list compact join-requests' },
              state.joinRequests.map((r) =>
                h(
                  'li',
                  { 'data-user': r.user.username },
                  h('span', { class: 'title' }, displayName(r.user), h('small', null, ` → ${groupName(r.group_id)}`)),
                  h('span', { class: 'actions' }, h('button', { class: 'small primary', name: 'accept-join', onclick: () => void handle(r.id, 1) }, t('accept')), h('button', { class: 'small', name: 'reject-join', onclick: () => void handle(r.id, -1) }, t('reject'))),
                ),
              ),
            ),
          ],
    );
    if (state.groups.length === 0) refill(mine, h('li', { class: 'empty' }, t('noGroups')));
    else
      refill(
        mine,
        state.groups.map((g) =>
          h(
            'li',
            { class: 'clickable', 'data-group': g.name, onclick: () => openConv(1, g.id) },
            h('div', { class: 'avatar small group' }, g.name.slice(0, 1).toUpperCase()),
            h('span', { class: 'title' }, g.name),
            h('span', { class: 'muted' }, `${g.member_count} · ${g.owner_id === state.me?.id ? t('owner') : t('member')}`),
          ),
        ),
      );
  };
  const el = h(
    'div',
    { class: 'panel' },
    h('form', { class: 'row', onsubmit: create }, name, h('button', { type: 'submit', class: 'primary', name: 'create-group' }, t('create'))),
    h('form', { class: 'row search', onsubmit: search }, word, h('button', { type: 'submit', name: 'search-groups' }, t('search'))),
    found,
    requests,
    h('h3', null, t('myGroups')),
    mine,
  );
  update();
  return { el, update };
}
