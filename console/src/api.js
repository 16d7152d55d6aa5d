// The API as the console calls it: same origin, the session cookie, and the
// session's CSRF token on every write. A failed call throws an ApiError
// carrying the API's own code and message; a 401 from a live session also
// tells the app (the session ended: back to the sign-in form).
import { t } from './i18n.js';

let csrf = '';
let unauthorized = null;
let activity = null;

export function setCsrf(token) {
  csrf = token || '';
}

// f(error) runs when a call answers 401 `unauthorized` (not the sign-in).
export function onUnauthorized(f) {
  unauthorized = f;
}

// f() runs after every call the API answered.
export function onActivity(f) {
  activity = f;
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  // The error in words: what it means in the operator's language, then the
  // API's own message.
  describe() {
    const known = t(`error.${this.code}`, {}, '');
    const head = known || t('error.status', { status: this.status || '-', code: this.code });
    return this.message && this.message !== known ? `${head} (${this.message})` : head;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function seg(s) {
  return encodeURIComponent(s);
}

// api('POST', '/v1/accounts/a/lock', {body: {...}}) -> the parsed answer, or
// null for 204. `body` a string is sent as `contentType` (text/csv).
export async function api(method, path, options = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  let body;
  if (options.body !== undefined) {
    if (typeof options.body === 'string') {
      body = options.body;
      headers['Content-Type'] = options.contentType || 'text/plain; charset=utf-8';
    } else {
      body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
  }
  let resp;
  try {
    resp = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'network', String(e && e.message ? e.message : e));
  }
  if (activity) activity();
  if (resp.status === 204) return null;
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!resp.ok) {
    const err = data && data.error ? data.error
      : { code: `http_${resp.status}`, message: text.slice(0, 200) || resp.statusText };
    const error = new ApiError(resp.status, err.code, err.message);
    if (resp.status === 401 && unauthorized && !options.quiet) unauthorized(error);
    throw error;
  }
  if (data === null) throw new ApiError(resp.status, 'bad_answer', text.slice(0, 200));
  return data;
}
