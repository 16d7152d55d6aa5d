// The operator console: a single-page app under /console/ with hash routes
// (#/overview, #/blocked, #/incidents[/ID], #/account[/NAME], #/senders,
// #/audit, #/operators). At load it asks GET /v1/operators/me whether a session is live:
// the app if so, the sign-in form otherwise. Every API call rides on the
// session cookie (HttpOnly: this script never sees it) and every write
// carries the session's CSRF token (api.js). A session that went idle is
// noticed by the next call's 401, or by a check once the idle timeout has
// passed without a call, and the sign-in form comes back.
import { api, onActivity, onUnauthorized, setCsrf } from './api.js';
import { clear, field, h } from './dom.js';
import { getLang, LANGS, setLang, t } from './i18n.js';
import { clearNotice, setNoticeNode, showError } from './ui.js';
import { getZone, setZone, zones } from './time.js';
import overview from './pages/overview.js';
import blocked from './pages/blocked.js';
import incidents from './pages/incidents.js';
import account from './pages/account.js';
import senders from './pages/senders.js';
import audit from './pages/audit.js';
import operators from './pages/operators.js';

const PAGES = { overview, blocked, incidents, account, senders, audit, operators };
const root = document.getElementById('app');
let session = null;
let idleTimer = 0;

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [name, ...rest] = hash.split('/');
  const page = PAGES[name] ? name : 'overview';
  return { page, arg: rest.length ? decodeURIComponent(rest.join('/')) : '' };
}

function armIdleCheck() {
  clearTimeout(idleTimer);
  if (!session) return;
  const ms = (session.idle_timeout_s || 1800) * 1000 + 2000;
  idleTimer = setTimeout(() => {
    api('GET', '/v1/operators/me').then(armIdleCheck, () => {});
  }, ms);
}

function signedOut(reason) {
  session = null;
  setCsrf('');
  clearTimeout(idleTimer);
  renderSignIn(reason);
}

onUnauthorized(() => {
  if (session) signedOut(t('signin.expired'));
});
onActivity(() => {
  if (session) armIdleCheck();
});

function langSelect() {
  const select = h('select', { id: 'lang', onchange: () => { setLang(select.value); rerender(); } },
    LANGS.map((l) => h('option', { value: l, selected: l === getLang() }, t(`lang.${l}`))));
  return field(t('shell.language'), select);
}

function zoneSelect() {
  const select = h('select', { id: 'zone', onchange: () => { setZone(select.value); rerender(); } },
    zones().map((z) => h('option', { value: z, selected: z === getZone() }, z)));
  return field(t('shell.zone'), select);
}

function rerender() {
  if (session) renderApp();
  else renderSignIn();
}

function renderSignIn(reason) {
  document.title = `${t('signin.title')} - mamori`;
  const status = h('p', { id: 'signin-status', class: reason ? 'notice error' : 'notice', role: 'alert' }, reason || '');
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true });
  const name = h('input', { type: 'text', name: 'name', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', {
    type: 'text', name: 'code', inputmode: 'numeric', autocomplete: 'one-time-code',
    pattern: '[0-9]{6}', maxlength: '6', required: true,
  });
  const tokenPart = h('fieldset', { class: 'with-token' }, h('legend', {}, t('signin.with_token')),
    field(t('signin.token'), token));
  const accountPart = h('fieldset', { class: 'with-account' }, h('legend', {}, t('signin.with_account')),
    field(t('signin.name'), name), field(t('signin.password'), password),
    field(t('signin.code'), code, t('signin.code_hint')));
  const modeToken = h('input', { type: 'radio', name: 'mode', value: 'token', id: 'mode-token', checked: true });
  const modeAccount = h('input', { type: 'radio', name: 'mode', value: 'account', id: 'mode-account' });
  const showMode = () => {
    const byToken = modeToken.checked;
    tokenPart.hidden = !byToken;
    accountPart.hidden = byToken;
    tokenPart.disabled = !byToken;
    accountPart.disabled = byToken;
  };
  modeToken.addEventListener('change', showMode);
  modeAccount.addEventListener('change', showMode);
  const submit = h('button', { type: 'submit', class: 'primary' }, t('signin.submit'));
  const form = h('form', { class: 'signin card', 'aria-labelledby': 'signin-h' },
    h('h1', { id: 'signin-h' }, t('signin.title')),
    h('div', { class: 'modes', role: 'radiogroup', 'aria-label': t('signin.how') },
      h('label', { for: 'mode-token' }, modeToken, ' ', t('signin.with_token')),
      h('label', { for: 'mode-account' }, modeAccount, ' ', t('signin.with_account'))),
    tokenPart, accountPart, status, submit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    const body = modeToken.checked ? { token: token.value }
      : { name: name.value, password: password.value, code: code.value };
    try {
      const me = await api('POST', '/v1/operators/sign-in', { body, quiet: true });
      startSession(me);
    } catch (err) {
      clear(status).className = 'notice error';
      status.append(err.code === 'sign_in_failed' || err.code === 'sign_in_refused'
        ? t(`error.${err.code}`) : (err.describe ? err.describe() : String(err)));
      password.value = '';
      code.value = '';
      submit.disabled = false;
    }
  });
  showMode();
  clear(root).append(
    h('header', { class: 'top' }, h('p', { class: 'brand' }, 'mamori'),
      h('div', { class: 'settings' }, langSelect(), zoneSelect())),
    h('main', { id: 'main' }, form));
  (modeToken.checked ? token : name).focus();
}

function startSession(me) {
  session = me;
  setCsrf(me.csrf);
  armIdleCheck();
  // A new hash renders the app through the hashchange event.
  if (!location.hash || location.hash === '#') location.hash = '#/overview';
  else renderApp();
}

async function signOut(b) {
  b.disabled = true;
  try {
    await api('POST', '/v1/operators/sign-out');
    signedOut(t('signin.signed_out'));
  } catch (e) {
    b.disabled = false;
    showError(e, t('shell.sign_out'));
  }
}

function renderApp() {
  const { page } = route();
  const nav = h('nav', { 'aria-label': t('shell.pages') },
    h('ul', {}, Object.keys(PAGES).map((p) => h('li', {},
      h('a', { href: `#/${p}`, 'aria-current': p === page ? 'page' : false, id: `nav-${p}` }, t(`nav.${p}`))))));
  const out = h('button', { type: 'button', class: 'secondary', id: 'sign-out' }, t('shell.sign_out'));
  out.addEventListener('click', () => signOut(out));
  const notice = h('div', { id: 'notice', class: 'notice', role: 'alert' });
  setNoticeNode(notice);
  const view = h('div', { id: 'view' });
  clear(root).append(
    h('header', { class: 'top' },
      h('p', { class: 'brand' }, h('a', { href: '#/overview' }, 'mamori'), ' ', h('span', {}, t('shell.console'))),
      nav,
      h('div', { class: 'settings' }, langSelect(), zoneSelect(),
        h('p', { class: 'operator' }, t('shell.signed_in_as'), ' ', h('strong', { id: 'operator' }, session.operator)),
        out)),
    h('main', { id: 'main' }, notice, view));
  renderPage(view);
}

async function renderPage(view) {
  const { page, arg } = route();
  clearNotice();
  document.title = `${t(`nav.${page}`)} - mamori`;
  try {
    await PAGES[page](view, arg);
  } catch (e) {
    showError(e, t(`nav.${page}`));
  }
}

window.addEventListener('hashchange', () => {
  if (session) renderApp();
});

async function boot() {
  setLang(getLang());
  clear(root).append(h('p', { class: 'loading', role: 'status' }, t('common.loading')));
  try {
    startSession(await api('GET', '/v1/operators/me', { quiet: true }));
  } catch (e) {
    renderSignIn(e.status === 401 ? '' : (e.describe ? e.describe() : String(e)));
  }
}

boot();
