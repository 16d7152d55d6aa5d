// Incidents (S3): the attacks the engine recognised; one incident's sources
// and the accounts it touched (and which a login got into), its accounts as
// CSV, and the bulk actions, each confirmed first: close, require a
// password reset of every compromised account, notify every owner.
import { api, seg } from '../api.js';
import { field, h, table } from '../dom.js';
import { t, word } from '../i18n.js';
import { button, confirmDialog, fill, run, section, showDone } from '../ui.js';
import { timeNode } from '../time.js';

function list(view) {
  const body = h('div', { id: 'incident-list' });
  const showClosed = h('input', { type: 'checkbox', id: 'show-closed' });
  showClosed.addEventListener('change', () => load());
  function load() {
    fill(body, async () => {
      const all = (await api('GET', '/v1/incidents')).incidents.filter((i) => showClosed.checked || !i.closed);
      return table(null, [t('incidents.kind'), t('incidents.started'), t('incidents.last_seen'), t('incidents.sources'),
        t('incidents.targeted'), t('incidents.compromised'), t('incidents.state')],
      all.map((i) => [h('a', { href: `#/incidents/${i.id}` }, word('kind', i.kind)), timeNode(i.started), timeNode(i.last_seen),
        h('span', { class: 'mono' }, i.sources.slice(0, 3).join(', ') + (i.sources.length > 3 ? ' …' : '')),
        String(i.accounts_targeted), String(i.accounts_compromised),
        i.closed ? t('incidents.closed') : t('incidents.open')]), t('incidents.none'));
    }, t('nav.incidents'));
  }
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.incidents')),
    h('label', { for: 'show-closed', class: 'check' }, showClosed, ' ', t('incidents.show_closed')),
    button(t('common.refresh'), () => load())), section(t('incidents.list'), body));
  load();
}

function detail(view, id) {
  const head = h('div');
  const accounts = h('div', { id: 'incident-accounts' });
  const note = h('input', { type: 'text', name: 'note', maxlength: '1024' });
  const path = `/v1/incidents/${seg(id)}`;

  async function load() {
    await fill(head, async () => {
      const data = await api('GET', `${path}/accounts`);
      const i = data.incident;
      fill(accounts, async () => table(null, [t('account.account'), t('incidents.first_seen'), t('incidents.last_seen'), t('incidents.login_succeeded')],
        data.accounts.map((a) => ({
          attrs: { class: a.login_succeeded ? 'compromised' : '' },
          cells: [h('a', { href: `#/account/${encodeURIComponent(a.account)}` }, a.account), timeNode(a.first_seen),
            timeNode(a.last_seen), a.login_succeeded ? h('strong', {}, t('common.yes')) : t('common.no')],
        })), t('incidents.no_accounts')));
      return h('dl', { class: 'facts' },
        h('dt', {}, t('incidents.kind')), h('dd', {}, word('kind', i.kind)),
        h('dt', {}, t('incidents.state')), h('dd', {}, i.closed ? [t('incidents.closed'), ' ', timeNode(i.closed)] : t('incidents.open')),
        h('dt', {}, t('incidents.started')), h('dd', {}, timeNode(i.started)),
        h('dt', {}, t('incidents.last_seen')), h('dd', {}, timeNode(i.last_seen)),
        h('dt', {}, t('incidents.sources')), h('dd', { class: 'mono' }, i.sources.join(', ') || '—'),
        h('dt', {}, t('incidents.targeted')), h('dd', {}, String(i.accounts_targeted)),
        h('dt', {}, t('incidents.compromised')), h('dd', {}, String(i.accounts_compromised)));
    }, t('incidents.title'));
  }

  async function bulk(btn, what, confirmKey, doneKey) {
    if (!(await confirmDialog(t(confirmKey), t(`incidents.${what.replace('-', '_')}`)))) return;
    const r = await run(btn, () => api('POST', `${path}/${what}`, { body: { note: note.value } }),
      t(`incidents.${what.replace('-', '_')}`));
    if (r) {
      showDone(t(doneKey, r));
      load();
    }
  }

  const csv = h('a', {
    href: `${path}/accounts.csv`, download: `incident-${id}-accounts.csv`, class: 'button secondary', id: 'export-csv',
  }, t('incidents.export'));
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('incidents.title')), h('a', { href: '#/incidents' }, t('incidents.back'))),
    section(t('incidents.summary'), head),
    section(t('incidents.actions'), field(t('common.note'), note),
      h('div', { class: 'buttons' }, csv,
        button(t('incidents.close'), (b) => bulk(b, 'close', 'incidents.close_confirm', 'incidents.closed_done'), 'secondary'),
        button(t('incidents.require_reset'), (b) => bulk(b, 'require-reset', 'incidents.require_reset_confirm', 'incidents.require_reset_done'), 'danger'),
        button(t('incidents.notify_owners'), (b) => bulk(b, 'notify-owners', 'incidents.notify_owners_confirm', 'incidents.notify_owners_done'), 'danger'))),
    section(t('incidents.accounts'), accounts));
  load();
}

export default async function incidents(view, id) {
  if (id) detail(view, id);
  else list(view);
}
