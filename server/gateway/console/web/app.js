// The console's entry point: login, navigation (#/files, #/keys, #/members, #/buckets,
// #/password, #/safety, #/audit) and logout.

import { call, setCsrf, ApiError } from './api.js';
import { h, mount, toast } from './dom.js';
import { bucketsPage, folderPage } from './files.js';
import { keysPage } from './keys.js';
import { passwordPage } from './password.js';
import { membersPage, auditPage, bucketsAdminPage } from './admin.js';
import { safetyPage } from './safety.js';

const main = document.getElementById('main');
let me = null;

function loginPage(message) {
  document.getElementById('top').hidden = true;
  const name = h('input', { name: 'name', autocomplete: 'username', placeholder: 'name', 'aria-label': 'name', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', placeholder: 'password', 'aria-label': 'password', required: true });
  const error = h('p', { className: 'error', id: 'login-error' }, message || '');
  mount(main, h('section', { className: 'card login' }, h('h1', {}, 'Mosaic console'),
    h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        await call('POST', '/login', { name: name.value, password: password.value });
        await start();
      } catch (err) { error.textContent = err.message; }
    } }, name, password, h('button', { type: 'submit', className: 'primary' }, 'Log in')), error));
}

function nav() {
  const links = [['#/files', 'Files'], ['#/keys', 'S3 keys'], ['#/password', 'Password']];
  if (me.admin) links.push(['#/members', 'Members & teams'], ['#/buckets', 'Buckets & quotas'], ['#/safety', 'Data safety'], ['#/audit', 'Audit log']);
  mount(document.getElementById('nav'), links.map(([href, text]) =>
    h('a', { href, className: location.hash.startsWith(href) ? 'on' : '' }, text)));
  document.getElementById('who').textContent = `${me.name}${me.admin ? ' (admin)' : ''}`;
}

async function route() {
  if (!me) return;
  nav();
  const hash = location.hash || '#/files';
  try {
    const files = hash.match(/^#\/files\/([^/]+)\/(.*)$/);
    if (files) return await folderPage(main, decodeURIComponent(files[1]), decodeURIComponent(files[2]));
    if (hash === '#/keys') return await keysPage(main, me);
    if (hash === '#/password') return passwordPage(main, (message) => { me = null; location.hash = '#/files'; loginPage(message); });
    if (hash === '#/members') return await membersPage(main);
    if (hash === '#/buckets') return await bucketsAdminPage(main);
    if (hash === '#/safety') return await safetyPage(main);
    if (hash === '#/audit') return await auditPage(main);
    return await bucketsPage(main);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return loginPage('Your session ended; log in again.');
    mount(main, h('section', { className: 'card' }, h('p', { className: 'error' }, e.message)));
  }
}

async function start() {
  try {
    me = await call('GET', '/me');
  } catch (e) {
    me = null;
    return loginPage(e instanceof ApiError && e.status === 401 ? '' : e.message);
  }
  setCsrf(me.csrf);
  document.getElementById('top').hidden = false;
  await route();
}

document.getElementById('logout').addEventListener('click', async () => {
  await call('POST', '/logout').catch((e) => toast(e.message, true));
  me = null;
  loginPage('Logged out.');
});
window.addEventListener('hashchange', route);
start();
