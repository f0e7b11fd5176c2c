// The bucket browser: buckets the member may see, folders by delimiter listing (paginated),
// upload (files, folders, drag and drop), download, delete, new folder, details, share.

import { call, s3, s3Path, xml } from './api.js';
import { h, mount, toast, bytes, when, table } from './dom.js';
import { uploadFile } from './upload.js';

export function usageText(b) {
  const quota = Number(b.quota_bytes) ? ` of ${bytes(b.quota_bytes)}` : '';
  return `${bytes(b.bytes)}${quota} · ${b.objects} object${Number(b.objects) === 1 ? '' : 's'}`;
}

export async function bucketsPage(main) {
  const buckets = await call('GET', '/buckets');
  mount(main, h('section', { className: 'card' }, h('h1', {}, 'Your buckets'),
    buckets.length ? Object.assign(table(['Bucket', 'Used'], buckets.map((b) => [
      h('a', { className: 'link', href: `#/files/${encodeURIComponent(b.name)}/${encodeURIComponent(b.prefix || '')}` }, b.name),
      h('span', { 'data-usage': b.name }, usageText(b))])), { id: 'buckets' })
      : h('p', { className: 'muted' }, 'You have no buckets yet. Ask an admin for access.')));
}

function crumbs(bucket, prefix) {
  const parts = prefix.split('/').filter(Boolean);
  const links = [h('a', { href: '#/files' }, 'buckets'), h('span', {}, '/'),
    h('a', { href: `#/files/${encodeURIComponent(bucket)}/` }, bucket)];
  let acc = '';
  for (const p of parts) {
    acc += `${p}/`;
    links.push(h('span', {}, '/'), h('a', { href: `#/files/${encodeURIComponent(bucket)}/${encodeURIComponent(acc)}` }, p));
  }
  return h('div', { className: 'crumbs' }, links);
}

async function listPage(bucket, prefix, token) {
  let q = `?list-type=2&delimiter=%2F&max-keys=200&prefix=${encodeURIComponent(prefix)}`;
  if (token) q += `&continuation-token=${encodeURIComponent(token)}`;
  const doc = xml(await s3('GET', `${s3Path(bucket)}${q}`));
  const text = (el, sel) => el.querySelector(sel)?.textContent || '';
  return {
    folders: [...doc.querySelectorAll('CommonPrefixes > Prefix')].map((p) => p.textContent),
    objects: [...doc.querySelectorAll('Contents')].map((c) => ({
      key: text(c, 'Key'), size: Number(text(c, 'Size')), modified: text(c, 'LastModified') })),
    next: doc.querySelector('IsTruncated')?.textContent === 'true' ? text(doc, 'NextContinuationToken') : '',
  };
}

export async function folderPage(main, bucket, prefix) {
  const rows = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'Show more');
  const uploads = h('div');
  const details = h('div');
  let next = '';
  // Refreshes the listing only: uploads in progress or done stay shown.
  const reload = async () => { rows.replaceChildren(); next = ''; await addRows(); };
  const addRows = async () => {
    const page = await listPage(bucket, prefix, next);
    next = page.next;
    more.hidden = !next;
    for (const f of page.folders) {
      rows.append(h('tr', {}, h('td', {}, h('a', { className: 'link', href: `#/files/${encodeURIComponent(bucket)}/${encodeURIComponent(f)}` },
        `${f.slice(prefix.length)}`)), h('td', {}, 'folder'), h('td'), h('td')));
    }
    for (const o of page.objects) {
      if (o.key === prefix) continue;  // the folder's own marker
      rows.append(objectRow(bucket, o, prefix, details, reload));
    }
  };
  more.addEventListener('click', addRows);
  const folderName = h('input', { placeholder: 'new folder name', 'aria-label': 'new folder name' });
  const picker = h('input', { type: 'file', multiple: true, 'aria-label': 'files to upload' });
  const folderPicker = h('input', { type: 'file', webkitdirectory: true, 'aria-label': 'folder to upload' });
  const start = (files) => uploadAll(bucket, prefix, files, uploads).then(reload);
  picker.addEventListener('change', () => start([...picker.files]));
  folderPicker.addEventListener('change', () => start([...folderPicker.files]));
  const drop = h('div', { className: 'drop' }, 'Drop files here to upload them into this folder');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); start([...e.dataTransfer.files]); });
  mount(main,
    h('section', { className: 'card' }, crumbs(bucket, prefix),
      h('form', { className: 'inline', onsubmit: async (e) => {
        e.preventDefault();
        const name = folderName.value.trim().replace(/\/+$/, '');
        if (!name) return;
        await s3('PUT', s3Path(bucket, `${prefix}${name}/`), '').catch((err) => toast(err.message, true));
        reload();
      } }, folderName, h('button', { type: 'submit' }, 'New folder'),
      h('label', {}, ' Upload files: ', picker), h('label', {}, ' Upload a folder: ', folderPicker)),
      drop, uploads,
      h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Size', 'Modified', ''].map((t) => h('th', {}, t)))), rows),
      more),
    details);
  await addRows();
}

function objectRow(bucket, o, prefix, details, reload) {
  const name = o.key.slice(prefix.length);
  const url = s3Path(bucket, o.key);
  return h('tr', { 'data-key': o.key },
    h('td', {}, h('button', { type: 'button', className: 'link', onclick: () => showDetails(details, bucket, o.key) }, name)),
    h('td', {}, bytes(o.size)), h('td', {}, new Date(o.modified).toLocaleString()),
    h('td', {},
      h('a', { href: url, download: name.split('/').pop() || 'download' }, 'Download'), ' ',
      h('button', { type: 'button', onclick: () => sharePanel(details, bucket, o.key) }, 'Share'), ' ',
      h('button', { type: 'button', className: 'danger', onclick: async () => {
        if (!window.confirm(`Delete ${o.key}? This cannot be undone.`)) return;
        await s3('DELETE', url).then(() => toast(`Deleted ${o.key}`), (e) => toast(e.message, true));
        reload();
      } }, 'Delete')));
}

async function uploadAll(bucket, prefix, files, box) {
  for (const file of files) {
    const key = prefix + (file.webkitRelativePath || file.name);
    const bar = h('progress', { max: file.size || 1, value: 0 });
    const info = h('span', { className: 'muted' }, '0%');
    const controller = new AbortController();
    const cancel = h('button', { type: 'button', onclick: () => controller.abort() }, 'Cancel');
    const row = h('div', { className: 'upload', 'data-upload': key }, h('span', {}, key), bar, info, cancel);
    box.append(row);
    const started = performance.now();
    try {
      await uploadFile(bucket, key, file, (done) => {
        bar.value = done;
        const secs = (performance.now() - started) / 1000;
        info.textContent = `${Math.floor((100 * done) / (file.size || 1))}% · ${bytes(done / Math.max(secs, 0.001))}/s`;
      }, controller.signal);
      info.textContent = 'done';
      row.classList.add('done');
    } catch (e) {
      info.textContent = e.message;
      info.className = 'error';
    }
    cancel.remove();
  }
}

async function showDetails(box, bucket, key) {
  const d = await call('GET', `/object?bucket=${encodeURIComponent(bucket)}&key=${encodeURIComponent(key)}`);
  const meta = Object.entries(d.metadata || {}).map(([k, v]) => `${k}: ${v}`).join(', ');
  mount(box, h('section', { className: 'card', id: 'details' }, h('h2', {}, key),
    table(['Size', 'Type', 'ETag', 'Last modified', 'Checksum', 'Metadata', 'Tags'], [[bytes(d.size),
      d.headers['content-type'] || '—', d.etag, when(d.last_modified_ms), d.checksum_algorithm || '—',
      meta || '—', (d.tags || []).map((t) => `${t.key}=${t.value}`).join(', ') || '—']]),
    h('h2', {}, `Where it is: ${d.k}+${d.m} shards per stripe on ${d.providers} provider(s)`),
    table(['Provider', 'Node', 'Health', 'Shards'], d.placement.map((p) => [p.provider, p.node,
      h('span', { className: `health-${p.health}` }, p.health), p.shards]))));
}

function sharePanel(box, bucket, key) {
  const expiry = h('select', { 'aria-label': 'link expiry' },
    [['3600', '1 hour'], ['86400', '1 day'], ['604800', '7 days'], ['5', '5 seconds (test)']]
      .map(([v, t]) => h('option', { value: v }, t)));
  const out = h('div');
  mount(box, h('section', { className: 'card', id: 'share' }, h('h2', {}, `Share ${key}`),
    h('form', { className: 'inline', onsubmit: async (e) => {
      e.preventDefault();
      try {
        const r = await call('POST', '/share', { bucket, key, expires_s: Number(expiry.value) });
        const field = h('input', { className: 'url', readonly: true, value: r.url, 'aria-label': 'share link' });
        mount(out, field, h('button', { type: 'button', onclick: () => navigator.clipboard?.writeText(r.url).then(() => toast('Copied')) }, 'Copy'),
          h('p', { className: 'muted' }, `Works until ${when(r.expires_ms)} for anyone who has it.`));
      } catch (err) { toast(err.message, true); }
    } }, 'Link valid for ', expiry, h('button', { type: 'submit', className: 'primary' }, 'Make link')), out));
}
