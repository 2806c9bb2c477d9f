// DOM building and formatting. Every value reaches the page as a text node or an attribute
// set through the DOM: nothing here (or anywhere in the explorer) parses HTML from data.

/**
 * Creates an element. `attrs`: `class`, `for`, `text`, `on` ({event: handler}), `dataset`,
 * any other attribute by name (`false`/`null` skip it). Children: nodes, strings (as text),
 * numbers, arrays (flattened), `null`/`false` (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'for') el.htmlFor = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) el.addEventListener(ev, fn);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) throw new Error(`use {on: {...}} for ${key}`);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** Appends children (see `h`) to `el`. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Empties `el` and fills it with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A link to an explorer route (`#/...`). */
export function link(route, text, attrs = {}) {
  return h('a', { ...attrs, href: `#/${route}` }, text);
}

/** A hash or key, shortened for lists; the full value in the title and accessible name. */
export function short(hex, keep = 10) {
  const s = String(hex);
  return s.length > 2 * keep + 1 ? `${s.slice(0, keep)}…${s.slice(-6)}` : s;
}

/** A link showing a shortened hash. */
export function hashLink(route, hex, keep) {
  return h('a', { href: `#/${route}`, class: 'mono', title: hex }, short(hex, keep));
}

/** Full hex, breakable anywhere, in monospace. */
export function mono(text) {
  return h('span', { class: 'mono break' }, text);
}

/** A timestamp in UTC: `2026-11-22 20:21:41 UTC`. */
export function time(ms) {
  if (ms === undefined || ms === null) return '—';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A `<time>` element for `ms`. */
export function timeEl(ms) {
  const d = new Date(Number(ms));
  return h('time', { datetime: Number.isNaN(d.getTime()) ? null : d.toISOString() }, time(ms));
}

/** "3 s ago", "5 min ago", ... */
export function ago(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Number(ms)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** Whole days from now until `ms` (negative once past). */
export function daysUntil(ms, now = Date.now()) {
  return Math.floor((Number(ms) - now) / 86400000);
}

/** A number with thousands separators. */
export function num(n) {
  return Number(n).toLocaleString('en-US');
}

/** "1 record", "3 records". */
export function plural(n, word, many = `${word}s`) {
  return `${num(n)} ${Number(n) === 1 ? word : many}`;
}

/** A definition list from [label, value] pairs (value: node, string or list). */
export function facts(rows, attrs = {}) {
  return h(
    'dl',
    { class: 'facts', ...attrs },
    rows.filter(Boolean).map(([label, value]) => [h('dt', {}, label), h('dd', {}, value ?? '—')]),
  );
}

/** A table: `head` labels, `rows` of cells; `caption` for screen readers and print; `hide`:
 * indices of columns hidden on narrow screens. */
export function table(head, rows, { caption, empty = 'None.', hide = [] } = {}) {
  if (!rows.length) return h('p', { class: 'muted' }, empty);
  const t = tableShell(head, { caption, hide });
  for (const r of rows) t.tbody.append(tableRow(r, hide));
  return t.wrap;
}

/** An empty table to fill (and update) row by row with `tableRow`. */
export function tableShell(head, { caption, hide = [] } = {}) {
  const tbody = h('tbody');
  const wrap = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, head.map((c, i) => h('th', { scope: 'col', class: hide.includes(i) ? 'hide-narrow' : null }, c)))),
      tbody,
    ),
  );
  return { wrap, tbody };
}

/** One table row of cells. */
export function tableRow(cells, hide = [], attrs = {}) {
  return h('tr', attrs, cells.map((c, i) => h('td', { class: hide.includes(i) ? 'hide-narrow' : null }, c ?? '—')));
}

/** A small coloured label: `kind` is ok, warn, bad or plain. */
export function badge(text, kind = 'plain') {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** A section with a heading. */
export function section(title, ...children) {
  const id = `s-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

/** An error or notice box. */
export function notice(text, kind = 'info') {
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

/** The suite's long name. */
export function suiteName(suite) {
  if (suite === 'gm') return 'gm (SM2 / SM3 / SM4)';
  if (suite === 'intl') return 'intl (Ed25519 / SHA-256 / AES-GCM)';
  return String(suite);
}

/** The hash function of a suite. */
export function hashName(suite) {
  return suite === 'gm' ? 'SM3' : 'SHA-256';
}

/** Whether `s` is 64 hex characters. */
export function isHash(s) {
  return /^[0-9a-fA-F]{64}$/.test(s);
}
