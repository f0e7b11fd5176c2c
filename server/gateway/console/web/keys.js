// The member's own S3 access keys: create (a subset of their rights, optional expiry; the
// secret is shown once) and revoke.

import { call } from './api.js';
import { h, mount, toast, when, table, grantText } from './dom.js';

export async function keysPage(main, me) {
  const keys = await call('GET', '/keys');
  const name = h('input', { placeholder: 'key name', 'aria-label': 'key name', required: true });
  // One choice per bucket or folder the member holds (value "bucket" or "bucket/prefix");
  // the prefix may be narrowed further, never widened (the gateway refuses a wider key).
  const targets = [...new Map(me.grants.map((g) => [g.prefix ? `${g.bucket}/${g.prefix}` : g.bucket, g])).entries()];
  const bucket = h('select', { 'aria-label': 'bucket' }, targets.map(([value, g]) => h('option', { value }, grantText(g))));
  const prefixOf = () => (targets.find(([value]) => value === bucket.value) || [null, { prefix: '' }])[1].prefix || '';
  const prefix = h('input', { placeholder: 'only keys starting with (optional)', 'aria-label': 'key limited to prefix', value: prefixOf() });
  bucket.addEventListener('change', () => { prefix.value = prefixOf(); });
  const right = h('select', { 'aria-label': 'right' }, ['read', 'write', 'owner'].map((r) => h('option', { value: r }, r)));
  const days = h('input', { type: 'number', min: 0, max: 3650, value: 0, 'aria-label': 'expires in days (0 = never)' });
  const shown = h('div');
  const reload = () => keysPage(main, me);
  mount(main,
    h('section', { className: 'card' }, h('h1', {}, 'Your S3 access keys'),
      h('p', { className: 'muted' }, `For backup tools and apps. Endpoint: ${me.s3_url}`),
      h('form', { className: 'inline', onsubmit: async (e) => {
        e.preventDefault();
        try {
          const g = targets.find(([value]) => value === bucket.value)[1];
          const k = await call('POST', '/keys', { name: name.value, bucket: g.bucket, prefix: prefix.value, right: right.value, expires_days: Number(days.value) });
          mount(shown, h('p', {}, 'Copy the secret now: it is not shown again.'),
            h('div', { className: 'secret', id: 'new-key' }, h('div', {}, 'Access key id: ', h('span', { id: 'new-key-id' }, k.id)),
              h('div', {}, 'Secret: ', h('span', { id: 'new-key-secret' }, k.secret))));
          const list = await call('GET', '/keys');
          main.querySelector('#key-list').replaceWith(keyTable(list, reload));
        } catch (err) { toast(err.message, true); }
      } }, name, bucket, prefix, right, 'expires in days', days, h('button', { type: 'submit', className: 'primary' }, 'Create key')),
      shown, keyTable(keys, reload)));
}

function keyTable(keys, reload) {
  const t = table(['Id', 'Name', 'Rights', 'Expires', ''], keys.map((k) => [k.id, k.name,
    k.grants.map((g) => `${grantText(g)}: ${g.right}`).join(', '), k.expires_ms ? when(k.expires_ms) : 'never',
    h('button', { type: 'button', className: 'danger', onclick: async () => {
      if (!window.confirm(`Revoke key ${k.id}? Programs using it stop working at once.`)) return;
      await call('POST', '/keys/delete', { id: k.id }).catch((e) => toast(e.message, true));
      reload();
    } }, 'Revoke')]));
  t.id = 'key-list';
  return t;
}
