// The member's own password: the current one, then the new one twice. A change ends every
// session of the member (this one too), so the member logs in again with the new password.

import { call } from './api.js';
import { h, mount } from './dom.js';

export function passwordPage(main, loggedOut) {
  const field = (label, autocomplete) => h('input', { type: 'password', autocomplete, 'aria-label': label, required: true });
  const old = field('current password', 'current-password');
  const next = field('new password', 'new-password');
  const again = field('new password again', 'new-password');
  const message = h('p', { id: 'password-message', role: 'status' });
  mount(main, h('section', { className: 'card' }, h('h1', {}, 'Change your password'),
    h('p', { className: 'muted' }, 'At least 10 characters. Every session of yours ends, this one too: you log in again with the new password.'),
    h('form', { className: 'stack', onsubmit: async (e) => {
      e.preventDefault();
      message.className = 'error';
      if (next.value !== again.value) { message.textContent = 'The two new passwords differ.'; return; }
      try {
        await call('POST', '/password', { old: old.value, new: next.value });
        loggedOut('Password changed. Log in with the new one.');
      } catch (err) { message.textContent = err.message; }
    } }, h('label', {}, 'Current password ', old), h('label', {}, 'New password ', next),
    h('label', {}, 'New password again ', again), h('button', { type: 'submit', className: 'primary' }, 'Change password')),
    message));
}
