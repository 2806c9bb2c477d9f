// The explorer's shell: hash routes (`#/block/5`, `#/tx/<hash>`, ...), the search box and
// page lifecycle. Each page module exports `render(ctx, ...params)`; `ctx.main` is where it
// draws, `ctx.signal` aborts when the user navigates away (close streams, stop timers).

import { ApiError, chain } from './api.js';
import { h, link, notice, replace, suiteName } from './dom.js';
import * as dashboard from './pages/dashboard.js';
import * as block from './pages/block.js';
import * as tx from './pages/tx.js';
import * as evidence from './pages/evidence.js';
import * as receipt from './pages/receipt.js';
import * as org from './pages/org.js';
import * as validator from './pages/validator.js';
import * as gov from './pages/gov.js';
import * as verify from './pages/verify.js';
import * as search from './pages/search.js';
import * as contract from './pages/contract.js';
import * as receivable from './pages/receivable.js';
import * as receivables from './pages/receivables.js';

/** Route table: first path segment → [page module, number of parameters]. */
const ROUTES = {
  '': [dashboard, 0],
  block: [block, 1],
  tx: [tx, 1],
  evidence: [evidence, 1],
  receipt: [receipt, 2],
  org: [org, 1],
  validator: [validator, 1],
  gov: [gov, 0],
  verify: [verify, 0],
  search: [search, 1],
  contract: [contract, 1],
  receivable: [receivable, 1],
  receivables: [receivables, 1],
};

const main = document.getElementById('main');
let current = null;

/** Splits `#/a/b/c` into decoded segments; null for hashes that are no route (`#main`). */
function parseHash(hash) {
  if (hash === '' || hash === '#') return [''];
  if (!hash.startsWith('#/')) return null;
  const parts = hash.slice(2).split('/');
  try {
    return parts.map(decodeURIComponent);
  } catch {
    return ['\u0000invalid'];
  }
}

async function route() {
  const parts = parseHash(location.hash);
  if (parts === null) return;
  if (current) current.abort();
  const controller = new AbortController();
  current = controller;
  const [name, ...params] = parts;
  const entry = Object.hasOwn(ROUTES, name) ? ROUTES[name] : null;
  markNav(name);
  main.setAttribute('aria-busy', 'true');
  replace(main, h('p', { class: 'muted loading' }, 'Loading…'));
  const ctx = { main, signal: controller.signal, navigate };
  try {
    if (!entry || params.length !== entry[1] || params.some((p) => p === '')) {
      notFoundPage(ctx, parts.join('/'));
    } else {
      await entry[0].render(ctx, ...params);
    }
  } catch (e) {
    if (controller.signal.aborted) return;
    showError(ctx, e);
  } finally {
    if (current === controller) main.removeAttribute('aria-busy');
  }
  if (!controller.signal.aborted) pageShown();
}

let firstPage = true;

/** Titles the document after the page; after a navigation, moves focus and scroll to it. */
function pageShown() {
  const h1 = main.querySelector('h1');
  document.title = h1 ? `${h1.textContent} · Kexin explorer` : 'Kexin explorer';
  if (!firstPage) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
  firstPage = false;
}

function markNav(name) {
  for (const a of document.querySelectorAll('.nav a')) {
    const target = a.getAttribute('href').slice(2).split('/')[0];
    if (target === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** Goes to a route; `replace` keeps the current entry out of the history. */
export function navigate(path, { replace: replaceEntry = false } = {}) {
  const hash = `#/${path}`;
  if (replaceEntry) {
    history.replaceState(null, '', hash);
    route();
  } else {
    location.hash = hash;
  }
}

function notFoundPage(ctx, path) {
  replace(
    ctx.main,
    h('h1', {}, 'Page not found'),
    notice(`There is no explorer page “${path}”.`, 'error'),
    h('p', {}, 'Try the search box above, or go back to the ', link('', 'dashboard'), '.'),
  );
}

/** Shows a failed page load: a not-found answer plainly, anything else with its code. */
export function showError(ctx, e) {
  if (e instanceof ApiError && e.notFound) {
    replace(
      ctx.main,
      h('h1', {}, 'Not found'),
      notice(e.message, 'error'),
      h('p', {}, link('', 'Back to the dashboard')),
    );
  } else if (e instanceof ApiError) {
    replace(
      ctx.main,
      h('h1', {}, e.status === 400 ? 'Invalid request' : 'Something went wrong'),
      notice(`${e.code}: ${e.message}`, 'error'),
      h('p', {}, link('', 'Back to the dashboard')),
    );
  } else {
    console.warn(e);
    replace(ctx.main, h('h1', {}, 'Something went wrong'), notice(String(e.message || e), 'error'));
  }
}

function setupSearch() {
  const form = document.getElementById('search');
  const input = document.getElementById('q');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = input.value.trim();
    input.value = '';
    input.blur();
    location.hash = `#/search/${encodeURIComponent(q || ' ')}`;
  });
}

async function footer() {
  const el = document.getElementById('chain-info');
  try {
    const c = await chain();
    replace(el, 'Chain ', h('span', { class: 'mono' }, c.chain_id), ` · suite ${suiteName(c.suite)} · served by `, location.host);
  } catch {
    replace(el, 'The node does not answer.');
  }
}

window.addEventListener('hashchange', route);
setupSearch();
footer();
route();
