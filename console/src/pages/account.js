// Account (S5): find an account by name; its status and lock, password
// reset requirement, contact, devices, countries, second factor (and its
// reset), lock and unlock with a note, the activity of the last 90 days with
// filters, its send quota (and release), and the incidents that touched it.
import { api, query, seg } from '../api.js';
import { clear, field, h, table } from '../dom.js';
import { t, word } from '../i18n.js';
import { button, confirmDialog, fill, run, section, showDone } from '../ui.js';
import { timeNode } from '../time.js';

const DAY = 86400000;

function searchForm(name) {
  const input = h('input', { type: 'search', name: 'account', id: 'account-name', required: true, value: name || '', maxlength: '256' });
  const form = h('form', { class: 'inline', role: 'search', id: 'account-search' }, field(t('account.find'), input),
    h('button', { type: 'submit', class: 'primary' }, t('account.open')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = input.value.trim();
    if (v) location.hash = `#/account/${encodeURIComponent(v)}`;
  });
  return form;
}

function eventWhat(e) {
  if (e.type === 'operator_action') return word('audit', (e.reasons && e.reasons[0]) || 'operator_action');
  if (e.type === 'login_result') return e.success ? t('activity.login_ok') : t('activity.login_failed');
  return word('event', e.type);
}

function timeline(events, filters) {
  const rows = events.filter((e) => {
    if (filters.result === 'success' && e.success !== true) return false;
    if (filters.result === 'failure' && e.success !== false) return false;
    if (filters.protocol && e.protocol !== filters.protocol) return false;
    if (filters.country && e.country !== filters.country) return false;
    if (filters.operator && e.type !== 'operator_action') return false;
    return true;
  });
  return table(null, [t('activity.time'), t('activity.what'), t('activity.decision'), t('activity.ip'), t('activity.place'),
    t('activity.protocol'), t('activity.device'), t('activity.by')],
  rows.map((e) => ({
    attrs: { class: e.type === 'operator_action' ? 'operator-action' : '' },
    cells: [timeNode(e.time), eventWhat(e),
      e.action ? [word('action', e.action), (e.reasons || []).length && e.type !== 'operator_action'
        ? h('small', { class: 'reasons' }, ` ${e.reasons.map((r) => word('reason', r)).join(', ')}`) : null] : '—',
      h('span', { class: 'mono' }, e.ip || '—'), [e.country, e.city].filter(Boolean).join(' ') || '—', e.protocol || '—',
      e.user_agent || e.device_id || '—', e.actor ? [e.actor, e.note ? h('small', { class: 'note' }, ` “${e.note}”`) : null] : '—'],
  })), t('activity.none'));
}

async function detail(view, name) {
  const path = `/v1/accounts/${seg(name)}`;
  const summary = h('div', { id: 'account-summary' });
  const actions = h('div');
  const quota = h('div', { id: 'account-quota' });
  const touched = h('div');
  const activity = h('div', { id: 'activity' });

  const filters = { result: '', protocol: '', country: '', operator: false };
  let events = [];
  const result = h('select', { name: 'result' }, h('option', { value: '' }, t('activity.all')),
    h('option', { value: 'success' }, t('activity.success')), h('option', { value: 'failure' }, t('activity.failure')));
  const protocol = h('select', { name: 'protocol' });
  const country = h('select', { name: 'country' });
  const operator = h('input', { type: 'checkbox', id: 'operator-only' });
  const applyFilters = () => {
    filters.result = result.value;
    filters.protocol = protocol.value;
    filters.country = country.value;
    filters.operator = operator.checked;
    clear(activity).append(timeline(events, filters));
  };
  for (const c of [result, protocol, country, operator]) c.addEventListener('change', applyFilters);
  const filterForm = h('form', { class: 'inline filters' }, field(t('activity.result'), result),
    field(t('activity.protocol'), protocol), field(t('activity.country'), country),
    h('label', { for: 'operator-only', class: 'check' }, operator, ' ', t('activity.operator_only')));
  filterForm.addEventListener('submit', (e) => e.preventDefault());

  function options(select, values) {
    const keep = select.value;
    clear(select).append(h('option', { value: '' }, t('activity.all')), ...values.map((v) => h('option', { value: v }, v)));
    select.value = values.includes(keep) ? keep : '';
  }

  async function loadActivity() {
    await fill(activity, async () => {
      const since = new Date(Date.now() - 90 * DAY).toISOString();
      events = (await api('GET', `${path}/activity${query({ since, limit: 1000 })}`)).events;
      options(protocol, [...new Set(events.map((e) => e.protocol).filter(Boolean))].sort());
      options(country, [...new Set(events.map((e) => e.country).filter(Boolean))].sort());
      return timeline(events, filters);
    }, t('account.activity'));
  }

  async function load() {
    await fill(summary, async () => {
      const a = await api('GET', path);
      renderActions(a);
      const lock = a.lock;
      return h('dl', { class: 'facts' },
        h('dt', {}, t('account.account')), h('dd', { id: 'account-shown' }, a.account),
        h('dt', {}, t('account.status')), h('dd', { id: 'account-status', class: a.status === 'locked' ? 'bad' : 'good' }, word('status', a.status)),
        lock ? [h('dt', {}, t('account.lock')), h('dd', {}, lock.reason, h('br'),
          h('small', {}, t('account.locked_by', { by: lock.by }), ' ', timeNode(lock.since)))] : null,
        h('dt', {}, t('account.reset_required')), h('dd', {}, a.password_reset_required ? t('common.yes') : t('common.no')),
        h('dt', {}, t('account.totp')), h('dd', { id: 'account-totp' }, a.mfa.totp ? t('account.totp_on') : t('account.totp_off')),
        h('dt', {}, t('account.contact')), h('dd', {}, a.contact.email
          ? `${a.contact.email} (${word('lang', a.contact.lang)}, ${a.contact.notify ? t('account.notify_on') : t('account.notify_off')}${a.contact.time_zone ? `, ${a.contact.time_zone}` : ''})`
          : t('account.no_contact')),
        h('dt', {}, t('account.countries')), h('dd', {}, a.countries.join(', ') || '—'),
        h('dt', {}, t('account.last_login')), h('dd', {}, a.last_login
          ? [timeNode(a.last_login.time), ` ${a.last_login.ip} ${a.last_login.country}`] : '—'),
        h('dt', {}, t('account.devices')), h('dd', {}, table(null, [t('account.device'), t('account.first_seen'), t('account.last_seen')],
          a.devices.map((d) => [d.user_agent || d.device_id, timeNode(d.first_seen), timeNode(d.last_seen)]), t('account.no_devices'))),
        a.known ? null : [h('dt', {}, ''), h('dd', { class: 'hint' }, t('account.unknown'))]);
    }, t('account.title'));
  }

  function renderActions(a) {
    clear(actions);
    const note = h('input', { type: 'text', name: 'note', id: 'unlock-note', maxlength: '1024' });
    const reason = h('input', { type: 'text', name: 'reason', id: 'lock-reason', maxlength: '256', required: true });
    const reset = h('input', { type: 'checkbox', id: 'lock-reset' });
    const lockButton = h('button', { type: 'submit', class: 'danger', id: 'lock-button' }, t('account.lock_button'));
    const lockForm = h('form', { class: 'stack', id: 'lock-form' }, field(t('account.lock_reason'), reason, t('account.lock_reason_hint')),
      h('label', { for: 'lock-reset', class: 'check' }, reset, ' ', t('account.lock_reset')), lockButton);
    lockForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const done = await run(lockButton, () => api('POST', `${path}/lock`,
        { body: { reason: reason.value, require_password_reset: reset.checked } }), t('account.lock_button'));
      if (done) {
        showDone(t('account.locked_done', { account: a.account }));
        refresh();
      }
    });
    const unlockButton = h('button', { type: 'submit', class: 'primary', id: 'unlock-button' }, t('account.unlock_button'));
    const unlockForm = h('form', { class: 'stack', id: 'unlock-form' }, field(t('common.note'), note), unlockButton);
    unlockForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const done = await run(unlockButton, () => api('POST', `${path}/unlock`, { body: { note: note.value } }), t('account.unlock_button'));
      if (done) {
        showDone(t('account.unlocked_done', { account: a.account }));
        refresh();
      }
    });
    const totpReset = a.mfa.totp ? button(t('account.totp_reset'), async (b) => {
      if (!(await confirmDialog(t('account.totp_reset_confirm', { account: a.account }), t('account.totp_reset')))) return;
      const done = await run(b, () => api('DELETE', `${path}/totp`), t('account.totp_reset'));
      if (done !== undefined) {
        showDone(t('account.totp_reset_done', { account: a.account }));
        refresh();
      }
    }, 'danger') : null;
    actions.append(a.status === 'locked' ? unlockForm : lockForm);
    if (totpReset) actions.append(totpReset);
  }

  async function loadQuota() {
    await fill(quota, async () => {
      const data = await api('GET', '/v1/mail/senders?limit=1000');
      const s = data.senders.find((x) => x.account === name.trim().toLowerCase() || x.account === name);
      const release = button(t('senders.release'), async (b) => {
        if (!(await confirmDialog(t('senders.release_confirm', { account: name }), t('senders.release')))) return;
        const done = await run(b, () => api('POST', `/v1/mail/senders/${seg(name)}/release`, { body: {} }), t('senders.release'));
        if (done) {
          showDone(t('senders.released', { account: done.account }));
          loadQuota();
        }
      });
      return h('div', {}, h('dl', { class: 'facts' },
        h('dt', {}, t('senders.hour')), h('dd', {}, `${s ? s.recipients_hour : 0} / ${data.hourly_quota || '∞'}`),
        h('dt', {}, t('senders.day')), h('dd', {}, `${s ? s.recipients_day : 0} / ${data.daily_quota || '∞'}`),
        h('dt', {}, t('senders.deferred')), h('dd', {}, String(s ? s.deferred_hour : 0))), release);
    }, t('account.quota'));
  }

  async function loadTouched() {
    await fill(touched, async () => {
      const data = await api('GET', `/v1/incidents/affected${query({ account: name })}`);
      return table(null, [t('incidents.kind'), t('incidents.started'), t('incidents.sources')],
        data.incidents.map((i) => [h('a', { href: `#/incidents/${i.id}` }, word('kind', i.kind)), timeNode(i.started),
          h('span', { class: 'mono' }, i.sources.join(', '))]), t('account.no_incidents'));
    }, t('account.incidents'));
  }

  function refresh() {
    load();
    loadActivity();
    loadQuota();
  }

  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('account.title')), searchForm(name)),
    h('div', { class: 'columns' }, section(t('account.summary'), summary),
      h('div', {}, section(t('account.actions'), actions), section(t('account.quota'), quota), section(t('account.incidents'), touched))),
    section(t('account.activity'), filterForm, activity));
  refresh();
  loadTouched();
}

export default async function account(view, name) {
  if (name) return detail(view, name);
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('account.title'))), section(t('account.find'), searchForm('')));
  document.getElementById('account-name').focus();
  return undefined;
}
