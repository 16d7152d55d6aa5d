// Audit log: every operator action, newest first, filtered by actor and
// action, a page at a time.
import { api, query } from '../api.js';
import { field, h, table } from '../dom.js';
import { t, word } from '../i18n.js';
import { fill, section } from '../ui.js';
import { timeNode } from '../time.js';

const ACTIONS = ['account_lock', 'account_unlock', 'list_add', 'list_remove', 'list_import', 'block_lift',
  'totp_reset', 'quota_release', 'incident_close', 'incident_require_reset', 'operator_add', 'operator_remove',
  'operator_totp_reset'];

export default async function audit(view) {
  const body = h('div', { id: 'audit' });
  const actor = h('input', { type: 'text', name: 'actor', id: 'audit-actor' });
  const action = h('select', { name: 'action', id: 'audit-action' }, h('option', { value: '' }, t('activity.all')),
    ACTIONS.map((a) => h('option', { value: a }, word('audit', a))));
  const form = h('form', { class: 'inline', role: 'search' }, field(t('audit.actor'), actor), field(t('audit.action'), action),
    h('button', { type: 'submit', class: 'primary' }, t('audit.filter')));
  const pages = [];
  function load(before) {
    fill(body, async () => {
      const data = await api('GET', `/v1/audit${query({ actor: actor.value.trim(), action: action.value, limit: 100, before })}`);
      const more = data.next ? h('button', { type: 'button', class: 'secondary', onclick: () => { pages.push(before); load(data.next); } }, t('audit.older')) : null;
      const newer = pages.length ? h('button', { type: 'button', class: 'secondary', onclick: () => load(pages.pop()) }, t('audit.newer')) : null;
      return h('div', {}, table(null, [t('audit.time'), t('audit.actor'), t('audit.action'), t('audit.target'), t('common.note'), t('audit.details')],
        data.entries.map((e) => ({
          attrs: { 'data-action': e.action },
          cells: [timeNode(e.time), [e.actor, h('small', {}, ` (${word('actor', e.actor_kind)})`)], word('audit', e.action),
            h('span', { class: 'mono' }, e.target), e.note, h('span', { class: 'mono small' }, Object.keys(e.details || {}).length ? JSON.stringify(e.details) : '')],
        })), t('audit.none')), h('div', { class: 'buttons' }, newer, more));
    }, t('nav.audit'));
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    pages.length = 0;
    load();
  });
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.audit'))), section(t('audit.title'), form, body));
  load();
}
