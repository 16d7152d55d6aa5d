// Blocked sources and lists (S4): what the engine blocks on its own, why,
// since and until when, each liftable with a note; the locked accounts; the
// allow and deny lists with search, add (with an expiry), remove and import
// (pasted or from a file).
import { api, query, seg } from '../api.js';
import { field, h, table } from '../dom.js';
import { t, word } from '../i18n.js';
import { button, confirmDialog, fill, run, section, showDone } from '../ui.js';
import { timeNode } from '../time.js';

const EXPIRIES = [['', 'lists.forever'], ['3600', 'lists.hour'], ['86400', 'lists.day'],
  ['604800', 'lists.week'], ['2592000', 'lists.month']];

export default async function blocked(view) {
  const blocks = h('div', { id: 'blocks' });
  const locked = h('div');
  const lists = h('div', { id: 'list-entries' });

  async function loadBlocks() {
    await fill(blocks, async () => {
      const data = await api('GET', '/v1/blocked');
      fill(locked, async () => table(null, [t('account.account'), t('blocked.why'), t('blocked.since'), t('account.reset_required')],
        data.locked_accounts.map((a) => [h('a', { href: `#/account/${encodeURIComponent(a.account)}` }, a.account),
          a.reason, timeNode(a.since), a.password_reset_required ? t('common.yes') : t('common.no')]),
        t('blocked.no_locked')));
      return table(null, [t('blocked.scope'), t('blocked.target'), t('blocked.why'), t('blocked.action'),
        t('blocked.since'), t('blocked.until'), t('blocked.incident'), ''],
      data.blocks.map((b) => ({
        attrs: { 'data-target': b.target, 'data-scope': b.scope },
        cells: [word('scope', b.scope), h('span', { class: 'mono' }, b.target), word('reason', b.reason),
          word('action', b.action), timeNode(b.since), timeNode(b.until),
          b.incident_id ? h('a', { href: `#/incidents/${b.incident_id}` }, t('blocked.incident_link')) : '—',
          button(t('blocked.lift'), (btn) => lift(btn, b), 'danger lift')],
      })), t('blocked.none'));
    }, t('blocked.engine'));
  }

  async function lift(btn, b) {
    if (!(await confirmDialog(t('blocked.lift_confirm', { target: b.target, scope: word('scope', b.scope) }), t('blocked.lift')))) return;
    const done = await run(btn, () => api('DELETE', `/v1/blocked/${seg(b.scope)}/${seg(b.target)}`,
      { body: { note: liftNote.value } }), t('blocked.lift'));
    if (done) {
      showDone(t('blocked.lifted', { target: b.target }));
      loadBlocks();
    }
  }

  // Lists.
  const kind = h('select', { name: 'kind' }, h('option', { value: '' }, t('lists.both')),
    h('option', { value: 'deny' }, word('list', 'deny')), h('option', { value: 'allow' }, word('list', 'allow')));
  const q = h('input', { type: 'search', name: 'q', maxlength: '512' });
  const search = h('form', { class: 'inline', role: 'search' }, field(t('lists.kind'), kind), field(t('lists.search'), q),
    h('button', { type: 'submit', class: 'secondary' }, t('lists.search_button')));
  search.addEventListener('submit', (e) => {
    e.preventDefault();
    loadLists();
  });

  async function loadLists() {
    await fill(lists, async () => {
      const data = await api('GET', `/v1/lists${query({ kind: kind.value, q: q.value, limit: 200 })}`);
      return h('div', {},
        h('p', { class: 'count' }, t('lists.total', { shown: data.entries.length, total: data.total })),
        table(null, [t('lists.kind'), t('blocked.target'), t('lists.reason'), t('lists.created'), t('lists.expires'), ''],
          data.entries.map((e) => ({
            attrs: { 'data-target': e.target },
            cells: [word('list', e.kind), h('span', { class: 'mono' }, e.target), e.reason, timeNode(e.created),
              e.expires ? timeNode(e.expires) : t('lists.forever'),
              button(t('lists.remove'), (btn) => remove(btn, e), 'danger')],
          })), t('lists.none')));
    }, t('lists.title'));
  }

  async function remove(btn, e) {
    if (!(await confirmDialog(t('lists.remove_confirm', { target: e.target }), t('lists.remove')))) return;
    const done = await run(btn, () => api('DELETE', `/v1/lists/${seg(e.id)}`), t('lists.remove'));
    if (done !== undefined) {
      showDone(t('lists.removed', { target: e.target }));
      loadLists();
    }
  }

  const addKind = h('select', { name: 'kind' }, h('option', { value: 'deny' }, word('list', 'deny')),
    h('option', { value: 'allow' }, word('list', 'allow')));
  const addTarget = h('input', { type: 'text', name: 'target', required: true, maxlength: '512', placeholder: '203.0.113.7, 198.51.100.0/24, account:NAME, country:CC' });
  const addReason = h('input', { type: 'text', name: 'reason', maxlength: '256' });
  const addTtl = h('select', { name: 'ttl' }, EXPIRIES.map(([v, k]) => h('option', { value: v }, t(k))));
  const addButton = h('button', { type: 'submit', class: 'primary' }, t('lists.add'));
  const add = h('form', { class: 'inline', id: 'list-add' }, field(t('lists.kind'), addKind), field(t('blocked.target'), addTarget),
    field(t('lists.reason'), addReason), field(t('lists.expiry'), addTtl), addButton);
  add.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { kind: addKind.value, target: addTarget.value.trim(), reason: addReason.value };
    if (addTtl.value) body.ttl_s = Number(addTtl.value);
    const entry = await run(addButton, () => api('POST', '/v1/lists', { body }), t('lists.add'));
    if (entry) {
      showDone(t('lists.added', { target: entry.target }));
      addTarget.value = '';
      addReason.value = '';
      loadLists();
    }
  });

  const csv = h('textarea', { name: 'csv', rows: '5', placeholder: 'deny,203.0.113.0/24,botnet,86400' });
  const file = h('input', { type: 'file', accept: '.csv,text/csv,text/plain' });
  file.addEventListener('change', async () => {
    if (file.files[0]) csv.value = await file.files[0].text();
  });
  const importNote = h('input', { type: 'text', name: 'note', maxlength: '1024' });
  const importButton = h('button', { type: 'submit', class: 'primary' }, t('lists.import'));
  const importForm = h('form', { class: 'stack' }, field(t('lists.csv'), csv, t('lists.csv_hint')),
    field(t('lists.file'), file), field(t('common.note'), importNote), importButton);
  importForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!csv.value.trim()) return;
    const done = await run(importButton, () => api('POST', `/v1/lists/import${query({ note: importNote.value })}`,
      { body: csv.value, contentType: 'text/csv' }), t('lists.import'));
    if (done) {
      showDone(t('lists.imported', { added: done.added }));
      csv.value = '';
      loadLists();
    }
  });

  const liftNote = h('input', { type: 'text', name: 'lift-note', maxlength: '1024' });
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.blocked')), button(t('common.refresh'), () => { loadBlocks(); loadLists(); })),
    section(t('blocked.engine'), h('p', { class: 'hint' }, t('blocked.engine_hint')), field(t('blocked.lift_note'), liftNote), blocks),
    section(t('blocked.locked'), locked),
    section(t('lists.title'), search, lists),
    h('div', { class: 'columns' }, section(t('lists.add_title'), add), section(t('lists.import_title'), importForm)));
  loadBlocks();
  loadLists();
}
