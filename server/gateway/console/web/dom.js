// Building the page from data without ever parsing it as HTML: every name, key and message
// becomes a text node, so a key named <img src=x onerror=alert(1)> stays text.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'className') {
      el.className = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function mount(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

export function toast(message, bad = false) {
  const box = document.getElementById('toast');
  const line = h('div', { className: bad ? 'bad' : '' }, message);
  box.append(line);
  setTimeout(() => line.remove(), 6000);
}

export function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

export function when(ms) {
  return ms ? new Date(Number(ms)).toLocaleString() : '—';
}

export function table(headers, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))));
}

// "press-photos", or "press-photos/album/*" for a grant limited to a prefix.
export const grantText = (g) => (g.prefix ? `${g.bucket}/${g.prefix}*` : g.bucket);
