// Times in the operator's time zone: the browser's unless one was chosen
// (kept in localStorage).
import { getLang } from './i18n.js';

const KEY = 'mamori.console.tz';

export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

function valid(zone) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch (e) {
    return false;
  }
}

let zone = valid(localStorage.getItem(KEY)) && localStorage.getItem(KEY) ? localStorage.getItem(KEY) : browserZone();

export function getZone() {
  return zone;
}

export function setZone(z) {
  if (!valid(z)) return;
  zone = z;
  localStorage.setItem(KEY, z);
}

export function zones() {
  const list = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const all = new Set(['UTC', browserZone(), zone, ...list]);
  return [...all].sort();
}

function locale() {
  // Swedish writes dates as ISO 8601 does (2026-12-07 19:24:03), unambiguous for English readers.
  return getLang() === 'ja' ? 'ja-JP' : 'sv-SE';
}

// "2026-12-07 19:24:03" style in the zone; '—' for none.
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), {
    timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).format(d);
}

export function fmtClock(ms) {
  return new Intl.DateTimeFormat(locale(), {
    timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).format(new Date(ms));
}

// A <time> element: the zone's wording shown, the instant in datetime.
export function timeNode(iso) {
  const node = document.createElement('time');
  if (iso) node.setAttribute('datetime', iso);
  node.textContent = fmtTime(iso);
  return node;
}

export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.round(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}
