// What every page shares: the notice line (errors in words, successes), the
// confirmation dialog before bulk or destructive actions, and buttons that
// run one API call at a time.
import { ApiError } from './api.js';
import { h, clear } from './dom.js';
import { t } from './i18n.js';

let noticeNode = null;

export function setNoticeNode(node) {
  noticeNode = node;
}

export function clearNotice() {
  if (noticeNode) clear(noticeNode).className = 'notice';
}

function describe(error) {
  if (error instanceof ApiError) return error.describe();
  return t('error.unexpected', { message: String(error && error.message ? error.message : error) });
}

// Shows an error in words; never swallowed: also logged for the operator's
// browser tools.
export function showError(error, where) {
  const text = describe(error);
  if (noticeNode) {
    clear(noticeNode).className = 'notice error';
    noticeNode.append(h('strong', {}, t('notice.error')), ' ', where ? `${where}: ` : '', text);
  }
  return text;
}

export function showDone(text) {
  if (!noticeNode) return;
  clear(noticeNode).className = 'notice done';
  noticeNode.append(text);
}

// Resolves true when the operator confirms `message`.
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' });
    const finish = (ok) => {
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    dialog.append(
      h('p', { id: 'confirm-text' }, message),
      h('div', { class: 'buttons' },
        h('button', { type: 'button', class: 'secondary', onclick: () => finish(false) }, t('common.cancel')),
        h('button', { type: 'button', class: 'danger', 'data-confirm': 'yes', onclick: () => finish(true) },
          confirmLabel || t('common.confirm'))));
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Runs `f` with `button` disabled; an error goes to the notice line. Returns
// f's result, or undefined when it failed.
export async function run(button, f, where) {
  if (button) button.disabled = true;
  try {
    return await f();
  } catch (e) {
    showError(e, where);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

export function button(label, onclick, cls) {
  const b = h('button', { type: 'button', class: cls || 'secondary' }, label);
  b.addEventListener('click', () => onclick(b));
  return b;
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

export function loading() {
  return h('p', { class: 'loading', role: 'status' }, t('common.loading'));
}

// A page body filled by `load`, an error shown in place when it fails.
export async function fill(node, load, where) {
  clear(node).append(loading());
  try {
    const content = await load();
    clear(node).append(content);
  } catch (e) {
    clear(node).append(h('p', { class: 'error', role: 'alert' }, showError(e, where)));
  }
}
