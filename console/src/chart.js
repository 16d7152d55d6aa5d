// Decisions per minute as an SVG line chart, one line a series (action and
// reason), drawn by hand: smaller than any chart library and styled by the
// console's own style sheet (classes s0..s9), so nothing inline.
import { h, svg } from './dom.js';
import { t, word } from './i18n.js';
import { fmtClock } from './time.js';

const W = 960;
const H = 260;
const PAD = { left: 44, right: 12, top: 12, bottom: 28 };

function niceMax(v) {
  if (v <= 5) return 5;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return v;
}

export function seriesLabel(s) {
  return `${word('action', s.action)} · ${word('reason', s.reason)}`;
}

// stats: the answer of GET /v1/stats/decisions.
export function decisionsChart(stats) {
  const start = Date.parse(stats.start);
  const step = (stats.step_s || 60) * 1000;
  const series = stats.series || [];
  const n = series.reduce((m, s) => Math.max(m, s.counts.length), 0);
  const max = niceMax(series.reduce((m, s) => Math.max(m, ...s.counts), 0));
  const x = (i) => PAD.left + (n <= 1 ? 0 : (i / (n - 1)) * (W - PAD.left - PAD.right));
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const grid = [];
  for (let k = 0; k <= 4; k += 1) {
    const v = (max / 4) * k;
    grid.push(svg('line', { class: 'grid', x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
      svg('text', { class: 'tick', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, Number.isInteger(v) ? String(v) : v.toFixed(1)));
  }
  const hours = Math.max(1, Math.round((n * step) / 3600000 / 8));
  for (let i = 0; i < n; i += 1) {
    const at = start + i * step;
    if (at % (hours * 3600000) !== 0) continue;
    grid.push(svg('line', { class: 'grid', x1: x(i), x2: x(i), y1: PAD.top, y2: H - PAD.bottom }),
      svg('text', { class: 'tick', x: x(i), y: H - 8, 'text-anchor': 'middle' }, fmtClock(at)));
  }
  const lines = series.map((s, k) => svg('polyline', {
    class: `line s${k % 10}`,
    points: s.counts.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' '),
  }, svg('title', {}, seriesLabel(s))));
  const end = start + n * step;
  const chart = svg('svg', {
    class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': t('overview.chart_label', { from: fmtClock(start), to: fmtClock(end) }),
  }, ...grid, svg('line', { class: 'axis', x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0) }), ...lines);
  const legend = h('ul', { class: 'legend' }, series.map((s, k) => h('li', {},
    h('span', { class: `swatch s${k % 10}`, 'aria-hidden': 'true' }), seriesLabel(s))));
  return h('figure', { class: 'chart-figure' }, chart, series.length ? legend
    : h('p', { class: 'empty' }, t('overview.no_decisions')));
}
