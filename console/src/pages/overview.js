// Overview: decisions per minute over the last 24 hours by action and
// reason, the open incidents, the top blocked sources, and the daemon's
// health (status, the outbox of notices, the store's commits).
import { api } from '../api.js';
import { decisionsChart, seriesLabel } from '../chart.js';
import { h, table } from '../dom.js';
import { t, word } from '../i18n.js';
import { button, fill, section } from '../ui.js';
import { fmtDuration, timeNode } from '../time.js';

// Prometheus text: the value of `name` (summed over its labels, or only the
// series whose labels contain `labels`).
function metric(text, name, labels) {
  let total = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (labels && !rest.includes(labels)) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isNaN(v)) total = (total || 0) + v;
  }
  return total;
}

async function metricsText() {
  const resp = await fetch('/metrics', { credentials: 'same-origin', cache: 'no-store' });
  if (!resp.ok) throw new Error(`/metrics: ${resp.status}`);
  return resp.text();
}

function stat(label, value, cls) {
  return h('div', { class: ['stat', cls] }, h('dt', {}, label), h('dd', {}, value));
}

export default async function overview(view) {
  const chart = h('div', { class: 'chart-box' });
  const totals = h('div');
  const health = h('div');
  const open = h('div');
  const top = h('div');
  const refresh = button(t('common.refresh'), () => load());
  view.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.overview')), refresh),
    section(t('overview.decisions'), chart, totals),
    h('div', { class: 'columns' }, section(t('overview.health'), health), section(t('overview.open_incidents'), open)),
    section(t('overview.top_blocked'), top));

  function load() {
    fill(chart, async () => {
      const stats = await api('GET', '/v1/stats/decisions?minutes=1440');
      const rows = (stats.series || []).map((s) => {
        const sum = s.counts.reduce((a, b) => a + b, 0);
        const hour = s.counts.slice(-60).reduce((a, b) => a + b, 0);
        return [seriesLabel(s), String(hour), String(sum)];
      });
      totals.replaceChildren(table(t('overview.totals'), [t('overview.series'), t('overview.last_hour'), t('overview.last_day')], rows, ''));
      return decisionsChart(stats);
    }, t('overview.decisions'));
    fill(health, async () => {
      const [status, text] = await Promise.all([api('GET', '/v1/status'), metricsText()]);
      const hot = status.hot_state;
      const pct = hot.budget_bytes ? Math.round((hot.bytes / hot.budget_bytes) * 100) : 0;
      const storeFailed = metric(text, 'mamori_store_commits_total', 'result="failed"') || 0;
      const available = metric(text, 'mamori_store_available');
      const pending = metric(text, 'mamori_outbox_pending');
      const outboxFailed = metric(text, 'mamori_outbox_failures_total');
      const givenUp = metric(text, 'mamori_outbox_given_up_total');
      return h('dl', { class: 'stats' },
        stat(t('overview.version'), status.version),
        stat(t('overview.uptime'), fmtDuration(status.uptime_s)),
        stat(t('overview.blocks'), String(status.blocks)),
        stat(t('overview.locked_accounts'), String(status.locked_accounts)),
        stat(t('overview.list_entries'), String(status.list_entries)),
        stat(t('overview.open_incidents'), String(status.open_incidents)),
        stat(t('overview.hot_state'), `${hot.entries} / ${pct}%`),
        stat(t('overview.store'), available === 0 ? t('overview.store_down') : t('overview.store_ok'),
          available === 0 ? 'bad' : 'good'),
        stat(t('overview.store_failed'), String(storeFailed), storeFailed ? 'bad' : ''),
        stat(t('overview.outbox_pending'), pending === null ? t('overview.outbox_off') : String(pending)),
        stat(t('overview.outbox_failed'), outboxFailed === null ? '—' : String(outboxFailed), outboxFailed ? 'bad' : ''),
        stat(t('overview.outbox_given_up'), givenUp === null ? '—' : String(givenUp), givenUp ? 'bad' : ''));
    }, t('overview.health'));
    fill(open, async () => {
      const all = (await api('GET', '/v1/incidents')).incidents.filter((i) => !i.closed);
      return table(null, [t('incidents.kind'), t('incidents.last_seen'), t('incidents.targeted'), t('incidents.compromised')],
        all.slice(0, 10).map((i) => [h('a', { href: `#/incidents/${i.id}` }, word('kind', i.kind)), timeNode(i.last_seen),
          String(i.accounts_targeted), String(i.accounts_compromised)]), t('overview.no_incidents'));
    }, t('overview.open_incidents'));
    fill(top, async () => {
      const { blocks } = await api('GET', '/v1/blocked');
      const sources = blocks.filter((b) => ['ip', 'ip_delay', 'network', 'network_delay'].includes(b.scope));
      return table(null, [t('blocked.target'), t('blocked.why'), t('blocked.action'), t('blocked.until')],
        sources.slice(0, 10).map((b) => [h('a', { href: '#/blocked' }, b.target), word('reason', b.reason),
          word('action', b.action), timeNode(b.until)]), t('blocked.none'));
    }, t('overview.top_blocked'));
  }
  load();
}
