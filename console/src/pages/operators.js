// Operators: the console's own accounts (a password and a TOTP second
// factor each): list, add, remove (its sessions end), and a new TOTP secret.
// A new secret is shown once, as a QR code, as text and as its otpauth URI,
// for the operator's authenticator app.
import { api, seg } from '../api.js';
import { field, h, table } from '../dom.js';
import { t } from '../i18n.js';
import { button, confirmDialog, fill, run, section, showDone } from '../ui.js';
import { timeNode } from '../time.js';
import { qrSvg } from '../qr.js';

function secretBox(answer) {
  return h('div', { class: 'secret', id: 'totp-secret', role: 'status' },
    h('p', {}, t('operators.secret_once', { name: answer.name })),
    qrSvg(answer.totp_uri, t('operators.qr', { name: answer.name })),
    h('dl', { class: 'facts' },
      h('dt', {}, t('operators.secret')), h('dd', { class: 'mono', 'data-secret': answer.totp_secret }, answer.totp_secret),
      h('dt', {}, t('operators.uri')), h('dd', { class: 'mono', 'data-uri': answer.totp_uri }, answer.totp_uri)));
}

export default async function operators(view) {
  const body = h('div', { id: 'operators' });
  const shown = h('div');

  function load() {
    fill(body, async () => {
      const data = await api('GET', '/v1/operators');
      return table(null, [t('operators.name'), t('operators.created'), t('operators.last_sign_in'), '', ''],
        data.operators.map((o) => ({
          attrs: { 'data-name': o.name },
          cells: [o.name, timeNode(o.created), o.last_sign_in ? timeNode(o.last_sign_in) : '—',
            button(t('operators.reset_totp'), async (b) => {
              if (!(await confirmDialog(t('operators.reset_totp_confirm', { name: o.name }), t('operators.reset_totp')))) return;
              const r = await run(b, () => api('POST', `/v1/operators/${seg(o.name)}/totp-reset`), t('operators.reset_totp'));
              if (r) shown.replaceChildren(secretBox(r));
            }),
            button(t('operators.remove'), async (b) => {
              if (!(await confirmDialog(t('operators.remove_confirm', { name: o.name }), t('operators.remove')))) return;
              const r = await run(b, () => api('DELETE', `/v1/operators/${seg(o.name)}`), t('operators.remove'));
              if (r !== undefined) {
                showDone(t('operators.removed', { name: o.name }));
                load();
              }
            }, 'danger')],
        })), t('operators.none'));
    }, t('nav.operators'));
  }

  const name = h('input', { type: 'text', name: 'name', id: 'operator-name', required: true, autocomplete: 'off' });
  const password = h('input', { type: 'password', name: 'password', id: 'operator-password', required: true, autocomplete: 'new-password' });
  const again = h('input', { type: 'password', name: 'again', id: 'operator-again', required: true, autocomplete: 'new-password' });
  const add = h('button', { type: 'submit', class: 'primary' }, t('operators.add'));
  const form = h('form', { class: 'stack', id: 'operator-add' }, field(t('operators.name'), name),
    field(t('operators.password'), password), field(t('operators.again'), again), add);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (password.value !== again.value) {
      again.setCustomValidity(t('operators.mismatch'));
      again.reportValidity();
      return;
    }
    again.setCustomValidity('');
    const r = await run(add, () => api('POST', '/v1/operators', { body: { name: name.value.trim(), password: password.value } }),
      t('operators.add'));
    if (r) {
      showDone(t('operators.added', { name: r.name }));
      shown.replaceChildren(secretBox(r));
      name.value = '';
      password.value = '';
      again.value = '';
      load();
    }
  });
  again.addEventListener('input', () => again.setCustomValidity(''));

  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.operators'))),
    shown,
    h('div', { class: 'columns' }, section(t('operators.list'), body), section(t('operators.add_title'), form)));
  load();
}
