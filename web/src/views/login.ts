import { GLOBE, h, icon } from '../dom.js';
import { t, toggleLang } from '../i18n.js';
import { signIn } from '../session.js';

/** The sign-in card: one form, two buttons (log in, register). */
export function loginView(redraw: () => void): HTMLElement {
  const username = h('input', { name: 'username', autocomplete: 'username', placeholder: t('username'), required: true, minlength: 6, maxlength: 20 });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', placeholder: t('password'), required: true, minlength: 6, maxlength: 64 });
  const error = h('p', { class: 'error', role: 'alert' });
  const submit = async (path: '/login' | '/register') => {
    error.textContent = '';
    if (!username.value || !password.value) return;
    buttons.forEach((b) => (b.disabled = true));
    try {
      await signIn(path, username.value.trim(), password.value);
    } catch (err) {
      error.textContent = err instanceof Error ? err.message : String(err);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  };
  const buttons = [
    h('button', { type: 'submit', class: 'primary', name: 'login' }, t('login')),
    h('button', { type: 'button', name: 'register', onclick: () => void submit('/register') }, t('register')),
  ];
  const form = h(
    'form',
    { class: 'login-card', onsubmit: (e: Event) => (e.preventDefault(), void submit('/login')) },
    h('div', { class: 'login-head' }, h('h1', null, t('appName')), h('button', { type: 'button', class: 'link lang', name: 'lang', title: t('switchLanguage'), onclick: () => (toggleLang(), redraw()) }, icon(GLOBE), t('language'))),
    h('label', null, t('username'), username),
    h('label', null, t('password'), password),
    h('p', { class: 'hint' }, t('loginHint')),
    error,
    h('div', { class: 'row' }, buttons),
  );
  return h('main', { class: 'login' }, form);
}
