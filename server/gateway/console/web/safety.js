// The data-safety page (admins): providers and nodes, repair and drains, live; node actions
// (drain / undrain / remove, add a node from an invite) and the deep scrub, each confirmed
// after saying what it does to safety; what the scrubs found.

import { call } from './api.js';
import { h, mount, toast, bytes, when, table } from './dom.js';

const VERB = { drain: 'Drain', remove: 'Remove', activate: 'Undrain' };

// Says what the action does to safety (the gateway's own estimate for a drain or removal),
// asks, then does it. An unsafe drain or removal is refused by the gateway, never forced.
async function nodeAction(node, action) {
  let text = action === 'activate' ? `Stop draining ${node}? Its shards stay where they are; safety does not change.`
    : action === 'drain' ? `Drain ${node}? Its shards are copied to other nodes, then it holds nothing.`
      : `Remove ${node}? It gets no shards any more; its shards are rebuilt on other nodes from the rest of each stripe.`;
  try {
    if (action !== 'activate') {
      const impact = await call('POST', '/admin/nodes/impact', { node, action });
      text += ` The data ${impact.tolerance}.`;
      if (impact.unsafe) text += `\n\nThe gateway refuses this: ${impact.unsafe}`;
    }
    if (!window.confirm(text)) return;
    const r = await call('POST', '/admin/nodes', { node, action });
    toast(`${node}: ${r.state}, ${r.stripes_queued} stripes queued${r.tolerance ? ` — ${r.tolerance}` : ''}`);
  } catch (e) { toast(e.message, true); }
}

function nodeButtons(n, reload) {
  const button = (action) => h('button', { type: 'button', className: action === 'remove' ? 'danger' : '',
    onclick: () => nodeAction(n.id, action).then(reload) }, VERB[action]);
  if (n.state === 'removed') return '';
  return [n.state === 'draining' ? button('activate') : button('drain'), ' ', button('remove')];
}

function inviteForm(reload) {
  const invite = h('input', { placeholder: 'mosaic-invite-1:…', 'aria-label': 'node invite', required: true, className: 'url' });
  return h('form', { className: 'inline', onsubmit: async (e) => {
    e.preventDefault();
    try {
      const text = invite.value.trim();
      const c = await call('POST', '/admin/nodes/invite/check', { invite: text });
      if (c.id_in_use) throw new Error(`Node ${c.node} is in the node list already.`);
      if (!window.confirm(`Add node ${c.node} of provider ${c.provider} at ${c.address}? Its certificate must be ${c.fingerprint}. ${c.effect}`)) return;
      const r = await call('POST', '/admin/nodes/invite', { invite: text });
      toast(`Node ${r.node} of ${r.provider} added: ${r.state}, ${r.stripes_queued} stripes queued to spread onto it`);
      invite.value = '';
      reload();
    } catch (err) { toast(err.message, true); }
  } }, invite, h('button', { type: 'submit' }, 'Add node'));
}

function scrubCard(scrub, reload) {
  const start = async () => {
    if (!window.confirm('Start a deep scrub? Every shard is read back from its node and checked; what is missing or damaged is queued for repair. It only reads, at a limited rate: safety does not change while it runs.')) return;
    try {
      await call('POST', '/admin/scrub');
      toast('Deep scrub started');
    } catch (e) { toast(e.message, true); }
    reload();
  };
  const state = scrub.running ? `Running: ${scrub.pieces_done} of ${scrub.pieces_total} objects checked`
    : scrub.finished_ms ? `Last run finished ${when(scrub.finished_ms)}: ${scrub.pieces_done} objects` : 'No deep scrub since the gateway started.';
  const findings = scrub.findings.map((f) => [when(f.time_ms), f.source, f.problem, f.node,
    `${f.piece.slice(0, 12)}… stripe ${f.stripe} shard ${f.shard}`,
    h('span', { className: f.repair === 'repaired' ? 'ok' : 'error' }, f.repair)]);
  return h('section', { className: 'card' }, h('h2', {}, 'Scrub'),
    h('p', { id: 'scrub-state' }, state),
    h('p', { id: 'scrub-counts' }, `${scrub.shards_checked} shards checked; ${scrub.failures} missing or damaged (queued for repair); ${scrub.skipped} skipped (node unreachable)${scrub.error ? `; stopped: ${scrub.error}` : ''}`),
    h('button', { type: 'button', onclick: start, disabled: scrub.running }, 'Start deep scrub'),
    h('h2', {}, 'Findings'),
    findings.length ? Object.assign(table(['When', 'Found by', 'Problem', 'Node', 'Where', 'Repair'], findings), { id: 'scrub-findings' })
      : h('p', { className: 'muted', id: 'scrub-findings' }, 'No missing or damaged shards found since the gateway started.'));
}

function nodeRows(s, reload) {
  const rows = [];
  for (const p of s.providers) {
    for (const n of p.nodes) {
      const down = n.health !== 'up' && n.declared_down_in_s != null ? ` (declared down in ${Math.ceil(n.declared_down_in_s)} s)` : '';
      rows.push([p.name, n.id, h('span', { className: `health health-${n.health.replace(' ', '-')}` }, n.health + down), n.state,
        `${bytes(n.used_bytes)} / ${bytes(n.capacity_bytes)}`, `${Number(n.latency_ms).toFixed(1)} ms`, n.shards ?? '—',
        nodeButtons(n, reload)]);
    }
  }
  return rows;
}

export async function safetyPage(main) {
  const [s, scrub] = await Promise.all([call('GET', '/admin/status'), call('GET', '/admin/scrub')]);
  if (location.hash !== '#/safety') return;  // left the page while this refresh was on its way
  const reload = () => safetyPage(main);
  const survives = s.safety.survives_provider_losses;
  const repair = s.backlog.repair;
  mount(main,
    h('section', { className: 'card' }, h('h1', {}, 'Data safety'),
      h('div', { className: 'grid' },
        h('div', {}, h('div', { className: 'big', id: 'survives' }, survives === null ? '—' : String(survives)), 'provider losses survived now'),
        h('div', {}, h('div', { className: 'big', id: 'healthy' }, `${s.safety.healthy} / ${s.safety.stripes}`), 'stripes fully healthy'),
        h('div', {}, h('div', { className: 'big', id: 'repair-backlog' }, String(repair.count)),
          `stripes to repair${repair.eta_seconds ? `, about ${Math.ceil(repair.eta_seconds)} s left` : ''}`,
          h('div', { id: 'repair-done' }, repair.done == null ? '' : `${repair.done} shards repaired since the gateway started`)),
        h('div', {}, h('div', { className: 'big' }, s.backup ? when(s.backup.last_success_ms) : '—'), 'last metadata backup'))),
    h('section', { className: 'card' }, h('h2', {}, 'Providers and nodes'),
      Object.assign(table(['Provider', 'Node', 'Health', 'State', 'Used', 'Latency', 'Shards', ''], nodeRows(s, reload)), { id: 'nodes' }),
      h('h2', {}, 'Add a node'),
      h('p', { className: 'muted' }, 'Paste the invite a provider gave you (mosaic node tenant add prints it).'),
      inviteForm(reload)),
    h('section', { className: 'card' }, h('h2', {}, 'Drains'),
      s.drains.length ? table(['Node', 'State', 'Since', 'Progress'], s.drains.map((d) => [d.node, d.state, when(d.since_ms),
        h('span', { className: 'drain-progress' }, `${d.shards_at_start - d.shards_left} of ${d.shards_at_start} shards moved`)]))
        : h('p', { className: 'muted' }, 'No drains.')),
    scrubCard(scrub, reload),
    h('p', { className: 'muted' }, `Updated ${when(s.generated_ms)}; refreshes every 5 s.`));
  const timer = setTimeout(() => { if (location.hash === '#/safety') reload(); }, 5000);
  window.addEventListener('hashchange', () => clearTimeout(timer), { once: true });
}
