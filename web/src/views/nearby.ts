import { fill, refill, h } from '../dom.js';
import { t } from '../i18n.js';
import { api, attempt } from '../session.js';
import { displayName, remember, state } from '../store.js';
import type { User } from '../types.js';

type Near = User & { distance_m: number };

function position(): Promise<GeolocationPosition> {
  return new Promise((resolve, reject) => navigator.geolocation.getCurrentPosition(resolve, () => reject(new Error(t('noLocation'))), { timeout: 15_000, maximumAge: 60_000 }));
}

const distance = (m: number) => (m >= 1000 ? `${(m / 1000).toFixed(1)} ${t('km')}` : `${m} ${t('m')}`);

/** Nearby people: the browser's location goes to /user/update/location, /geo/users lists who is near. */
export function nearbyView(): { el: HTMLElement; update: () => void } {
  let people: Near[] | undefined;
  const asked = new Set<number>();
  const list = h('ul', { class: 'list compact nearby' });
  const find = async () => {
    const data = await attempt(async () => {
      if (!('geolocation' in navigator)) throw new Error(t('noLocation'));
      const { coords } = await position();
      const at = { longitude: coords.longitude, latitude: coords.latitude };
      await api.call('/user/update/location', at);
      return api.call('/geo/users', at) as Promise<{ list: Near[] }>;
    });
    if (!data) return;
    people = data.list;
    remember(people);
    update();
  };
  const ask = async (u: User) => {
    if (await attempt(() => api.call('/im/friend/add/request', { f_uid: u.id }), 'requestSent')) asked.add(u.id);
    update();
  };
  const update = () => {
    if (people === undefined) return refill(list);
    if (people.length === 0) return refill(list, h('li', { class: 'empty' }, t('noNearby')));
    const friendIds = new Set(state.friends.map((f) => f.id));
    refill(
      list,
      people.map((u) =>
        h(
          'li',
          { 'data-user': u.username },
          h('span', { class: 'title' }, displayName(u), h('small', null, ` · ${distance(u.distance_m)}`)),
          friendIds.has(u.id) ? h('span', { class: 'tag' }, t('isFriend')) : asked.has(u.id) ? h('span', { class: 'tag' }, t('requested')) : h('button', { class: 'small primary', onclick: () => void ask(u) }, t('add')),
        ),
      ),
    );
  };
  const el = h('div', { class: 'panel' }, h('p', { class: 'hint' }, t('nearbyHint')), h('button', { class: 'primary', name: 'find-nearby', onclick: () => void find() }, t('findNearby')), list);
  return { el, update };
}
