// Admin pages: members, teams and grants; buckets and quotas; the audit log (data safety:
// safety.js).

import { call } from './api.js';
import { h, mount, toast, bytes, when, table, grantText } from './dom.js';
import { usageText } from './files.js';

const RIGHTS = ['read', 'write', 'owner', 'none'];


function grantForm(kind, names, done) {
  const who = h('select', { 'aria-label': `${kind} for grant` }, names.map((n) => h('option', { value: n }, n)));
  const bucket = h('input', { placeholder: 'bucket or *', 'aria-label': `${kind} grant bucket`, required: true });
  const prefix = h('input', { placeholder: 'only keys starting with (optional)', 'aria-label': `${kind} grant prefix` });
  const right = h('select', { 'aria-label': `${kind} grant right` }, RIGHTS.map((r) => h('option', { value: r }, r)));
  return h('form', { className: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    try {
      await call('POST', '/admin/grants', { kind, name: who.value, bucket: bucket.value, prefix: prefix.value, right: right.value });
      toast(`Granted ${right.value} on ${grantText({ bucket: bucket.value, prefix: prefix.value })} to ${kind} ${who.value}`);
      done();
    } catch (err) { toast(err.message, true); }
  } }, `Grant to ${kind}`, who, bucket, prefix, right, h('button', { type: 'submit' }, 'Set grant'));
}

export async function membersPage(main, notice = null) {
  const [members, teams] = await Promise.all([call('GET', '/admin/members'), call('GET', '/admin/teams')]);
  const reload = () => membersPage(main);
  const name = h('input', { placeholder: 'member name', 'aria-label': 'new member name', required: true });
  const admin = h('input', { type: 'checkbox', 'aria-label': 'admin' });
  const shown = h('div', {}, notice);
  const teamName = h('input', { placeholder: 'team name', 'aria-label': 'new team name', required: true });
  const joinMember = h('select', { 'aria-label': 'member to add to team' }, members.map((m) => h('option', { value: m.name }, m.name)));
  const joinTeam = h('select', { 'aria-label': 'team to join' }, teams.map((t) => h('option', { value: t.name }, t.name)));
  const post = (path, body, message) => call('POST', path, body).then(() => { toast(message); reload(); }, (e) => toast(e.message, true));
  mount(main,
    h('section', { className: 'card' }, h('h1', {}, 'Members'),
      h('form', { className: 'inline', onsubmit: async (e) => {
        e.preventDefault();
        try {
          const r = await call('POST', '/admin/members', { name: name.value, admin: admin.checked });
          await membersPage(main, h('div', { className: 'secret' }, `One-time password for ${r.name} (shown once): `,
            h('span', { id: 'new-password' }, r.password)));
        } catch (err) { toast(err.message, true); }
      } }, name, h('label', {}, admin, ' admin'), h('button', { type: 'submit', className: 'primary' }, 'Add member')),
      shown, memberTable(members, post), grantForm('member', members.map((m) => m.name), reload)),
    h('section', { className: 'card' }, h('h1', {}, 'Teams'),
      h('form', { className: 'inline', onsubmit: (e) => { e.preventDefault(); post('/admin/teams', { name: teamName.value }, `Team ${teamName.value} created`); } },
        teamName, h('button', { type: 'submit' }, 'Create team')),
      table(['Team', 'Grants', ''], teams.map((t) => [t.name, t.grants.map((g) => `${grantText(g)}: ${g.right}`).join(', ') || '—',
        h('button', { type: 'button', className: 'danger', onclick: () => window.confirm(`Delete team ${t.name}?`) && post('/admin/teams/delete', { name: t.name }, 'Team deleted') }, 'Delete')])),
      h('form', { className: 'inline', onsubmit: (e) => { e.preventDefault(); post('/admin/teams/members', { member: joinMember.value, team: joinTeam.value, in: true }, 'Added to team'); } },
        'Add', joinMember, 'to team', joinTeam, h('button', { type: 'submit' }, 'Add to team')),
      grantForm('team', teams.map((t) => t.name), reload)));
}

function memberTable(members, post) {
  const t = table(['Member', 'Role', 'Teams', 'Own grants', ''], members.map((m) => [m.name, m.admin ? 'admin' : 'member',
    m.teams.join(', ') || '—', m.grants.map((g) => `${grantText(g)}: ${g.right}`).join(', ') || '—',
    h('button', { type: 'button', className: 'danger', onclick: () => window.confirm(`Remove ${m.name}? Their S3 keys stop working.`) && post('/admin/members/remove', { name: m.name }, `${m.name} removed`) }, 'Remove')]));
  t.id = 'member-list';
  return t;
}

export async function auditPage(main) {
  const lines = await call('GET', '/admin/audit');
  mount(main, h('section', { className: 'card' }, h('h1', {}, 'Audit log'),
    table(['When', 'Who', 'What', 'Target', 'From', ''], lines.map((l) => [when(l.time_ms), l.actor, l.action, l.target, l.from,
      l.ok ? h('span', { className: 'ok' }, 'ok') : h('span', { className: 'error' }, 'refused')]))));
}

export async function bucketsAdminPage(main) {
  const buckets = await call('GET', '/admin/buckets');
  const bucket = h('select', { 'aria-label': 'bucket for quota' }, buckets.map((b) => h('option', { value: b.name }, b.name)));
  const mib = h('input', { type: 'number', min: 0, step: 1, placeholder: 'MiB (0 = none)', 'aria-label': 'quota in MiB' });
  const count = h('input', { type: 'number', min: 0, step: 1, placeholder: 'objects (0 = none)', 'aria-label': 'quota in objects' });
  mount(main, h('section', { className: 'card' }, h('h1', {}, 'Buckets and quotas'),
    Object.assign(table(['Bucket', 'Used', 'Byte quota', 'Object quota'], buckets.map((b) => [b.name,
      h('span', { 'data-usage': b.name }, usageText(b)),
      Number(b.quota_bytes) ? bytes(b.quota_bytes) : 'none', Number(b.quota_objects) ? String(b.quota_objects) : 'none'])), { id: 'bucket-list' }),
    h('form', { className: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      const body = { bucket: bucket.value, bytes: Math.round(Number(mib.value || 0) * 1024 * 1024), objects: Number(count.value || 0) };
      try {
        await call('POST', '/admin/quota', body);
        toast(`Quota of ${bucket.value} set`);
        bucketsAdminPage(main);
      } catch (err) { toast(err.message, true); }
    } }, 'Quota for', bucket, mib, count, h('button', { type: 'submit' }, 'Set quota')),
    h('p', { className: 'muted' }, 'A write that would take a bucket over its quota is refused (403 QuotaExceeded); nothing is stored. Every version counts.')));
}

