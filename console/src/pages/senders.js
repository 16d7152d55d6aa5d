// Mail senders (S2, S3): the SMTP accounts by recipients in the hour, the
// sends deferred over quota, whether the mailbox is locked, and release.
import { api, seg } from '../api.js';
import { h, table } from '../dom.js';
import { t } from '../i18n.js';
import { button, confirmDialog, fill, run, section, showDone } from '../ui.js';

export default async function senders(view) {
  const body = h('div', { id: 'senders' });
  function load() {
    fill(body, async () => {
      const data = await api('GET', '/v1/mail/senders?limit=200');
      return h('div', {},
        h('p', { class: 'hint' }, t('senders.quotas', { hour: data.hourly_quota || '∞', day: data.daily_quota || '∞' })),
        table(null, [t('account.account'), t('senders.hour'), t('senders.day'), t('senders.deferred'), t('senders.locked'), ''],
          data.senders.map((s) => ({
            attrs: { class: s.locked ? 'compromised' : '', 'data-account': s.account },
            cells: [h('a', { href: `#/account/${encodeURIComponent(s.account)}` }, s.account), String(s.recipients_hour),
              String(s.recipients_day), String(s.deferred_hour), s.locked ? h('strong', {}, t('common.yes')) : t('common.no'),
              button(t('senders.release'), async (b) => {
                if (!(await confirmDialog(t('senders.release_confirm', { account: s.account }), t('senders.release')))) return;
                const done = await run(b, () => api('POST', `/v1/mail/senders/${seg(s.account)}/release`, { body: {} }), t('senders.release'));
                if (done) {
                  showDone(t('senders.released', { account: s.account }));
                  load();
                }
              })],
          })), t('senders.none')));
    }, t('nav.senders'));
  }
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.senders')), button(t('common.refresh'), () => load())),
    section(t('senders.title'), body));
  load();
}
