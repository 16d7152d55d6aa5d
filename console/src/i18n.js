// The console's two languages. The choice is kept in localStorage; the first
// visit follows the browser's language (Japanese when it starts with "ja").
import { STRINGS } from './strings.js';

export const LANGS = ['en', 'ja'];
const KEY = 'mamori.console.lang';

function initial() {
  const saved = localStorage.getItem(KEY);
  if (LANGS.includes(saved)) return saved;
  return (navigator.language || 'en').toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

let lang = initial();

export function getLang() {
  return lang;
}

export function setLang(l) {
  if (!LANGS.includes(l)) return;
  lang = l;
  localStorage.setItem(KEY, l);
  document.documentElement.lang = l;
}

// t('blocked.lift', {target}) in the current language; `fallback` (or the
// English text, or the key) when the key is missing.
export function t(key, params = {}, fallback) {
  let s = STRINGS[lang][key];
  if (s === undefined) s = fallback !== undefined ? fallback : STRINGS.en[key];
  if (s === undefined) s = key;
  return s.replace(/\{(\w+)\}/g, (m, name) => (params[name] !== undefined ? String(params[name]) : m));
}

// A reason, action or kind from the API in words, or as written when unknown.
export function word(group, value) {
  return t(`${group}.${value}`, {}, String(value));
}
