// The public trace page, `/explorer/trace/{product-id}`: what a consumer sees after scanning
// the QR code on a product. It reads the batch and its history from the contract the
// consortium named `trace` (through the node's decoded read-only calls), links every step to
// its transaction and receipt, and says plainly what the ledger proves and what it does not.

import { ApiError, api, view } from './api.js';
import { facts, h, mono, notice, replace, short, suiteName, time } from './dom.js';

/** The traceability contract's name (kexin_apps::trace::NAME). */
const CONTRACT_NAME = 'trace';

const KINDS = {
  1: ['Production', 'Made or harvested by the producer'],
  2: ['Inspection', 'Checked by an inspector, with the report'],
  3: ['Shipment', 'Handed to a carrier'],
  4: ['Receipt', 'Received by a carrier or a shop'],
  5: ['Sale', 'Sold by a retailer'],
};

const main = document.getElementById('main');

/** The product id in the page's path, or null when the path carries none. */
function productId() {
  const prefix = '/explorer/trace/';
  if (!location.pathname.startsWith(prefix)) return null;
  try {
    const id = decodeURIComponent(location.pathname.slice(prefix.length));
    return id === '' || id.includes('/') ? null : id;
  } catch {
    return null;
  }
}

const seconds = (s) => time(Number(s) * 1000);

/** The transactions of the steps, found from the `Traced`, `Registered` and `Recalled` logs in
 * the blocks the contract recorded them at: key `kind:index` → log. */
async function transactions(address, id, heights) {
  const found = new Map();
  for (const height of [...new Set(heights)].filter((x) => x > 0)) {
    const page = await api.contractEventsAt(address, height);
    for (const log of page.logs) {
      const d = log.decoded;
      if (!d) continue;
      const field = (name) => d.fields.find((f) => f.name === name)?.value;
      if (field('productId') !== JSON.stringify(id)) continue;
      if (d.event === 'Traced') found.set(`step:${field('index')}`, log);
      else if (d.event === 'Registered') found.set('registered', log);
      else if (d.event === 'Recalled') found.set('recalled', log);
    }
  }
  return found;
}

/** Links to a step's transaction page and its receipt (a document anyone can verify). */
function proofLinks(log) {
  if (!log) return h('span', { class: 'muted' }, 'transaction not found on this node');
  return h(
    'span',
    { class: 'proof-links' },
    h('a', { href: `/#/tx/${log.tx_hash}`, title: log.tx_hash }, `Transaction ${short(log.tx_hash, 8)}`),
    ' · ',
    h('a', { href: `/v1/transactions/${log.tx_hash}/receipt`, download: `receipt-${log.tx_hash.slice(0, 16)}.json` }, 'Receipt'),
    ` · block ${log.height}`,
  );
}

function docLink(doc) {
  if (!doc || /^0x0+$/.test(doc)) return null;
  const digest = doc.replace(/^0x/, '');
  return h('p', { class: 'step-doc' }, 'Document fingerprint ', h('a', { href: `/#/evidence/${digest}`, class: 'mono break' }, digest));
}

function step(e, index, log) {
  const [label, what] = KINDS[Number(e.kind)] || [`Kind ${e.kind}`, ''];
  return h(
    'li',
    { class: 'step', dataset: { kind: label.toLowerCase() } },
    h('h3', {}, h('span', { class: 'step-kind' }, label), ' by ', h('strong', {}, e.org)),
    h('p', { class: 'step-when' }, h('time', { datetime: new Date(Number(e.at) * 1000).toISOString() }, seconds(e.at)), what ? ` · ${what}` : ''),
    e.note ? h('p', { class: 'step-note' }, e.note) : null,
    docLink(e.doc),
    h('p', { class: 'step-proof' }, proofLinks(log)),
  );
}

function recallBanner(b, log) {
  return h(
    'div',
    { class: 'recall', role: 'alert' },
    h('p', { class: 'recall-title' }, 'Recalled: do not use this product'),
    h('p', {}, `Recalled by ${b.recalledBy} on ${seconds(b.recalledAt)}: `, h('strong', {}, b.recallReason)),
    h('p', { class: 'step-proof' }, proofLinks(log)),
  );
}

function explanation(orgs, chain) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 's-proves' },
    h('h2', { id: 's-proves' }, 'What this page proves, and what it does not'),
    h(
      'p',
      {},
      `Every step above was signed by the organisation named and recorded on the Kexin ledger ${chain.chain_id}, which ${orgs.length} organisations keep together (${orgs.join(', ')}). `,
      'Once recorded, a step cannot be changed or removed by anyone, the organisation that signed it included. ',
      'Each step has a receipt: a file anyone can check offline, with the ledger\'s genesis, to confirm the step is on the ledger as shown.',
    ),
    h(
      'p',
      {},
      'A document fingerprint proves that the document (an inspection report, say) existed, unchanged, when it was recorded: whoever holds the document can check it against the fingerprint. ',
      'Only organisations the platform operator registered for a role could record that kind of step.',
    ),
    h(
      'p',
      {},
      h('strong', {}, 'What it does not prove: '),
      'that what an organisation recorded is true (the ledger shows who said it and when, so they can be held to it); ',
      'that the item in your hand belongs to this batch (a label can be copied: buy from the retailers listed); ',
      'or anything that happened and was not recorded.',
    ),
  );
}

async function render(id) {
  const [named, chain, orgList] = await Promise.all([api.named(CONTRACT_NAME), api.chain(), api.orgs()]);
  const address = named.contract;
  let b;
  try {
    b = await view(address, 'batch', [id]);
  } catch (e) {
    if (e instanceof ApiError && e.code === 'contract_reverted') {
      replace(
        main,
        h('h1', {}, 'Product not found'),
        notice(`No product batch “${id}” is registered on this ledger.`, 'error'),
        h('p', {}, 'Check the code printed on the label. A product whose code is not on the ledger has no recorded history: ask the seller.'),
      );
      return;
    }
    throw e;
  }
  const history = await view(address, 'events', [id]);
  const heights = [Number(b.registeredHeight), Number(b.recalledHeight), ...history.map((e) => Number(e.height))];
  const txs = await transactions(address, id, heights);
  const orgs = orgList.orgs.map((o) => o.name).filter(Boolean);
  replace(
    main,
    b.recalled ? recallBanner(b, txs.get('recalled')) : null,
    h('h1', {}, b.name),
    h('p', { class: 'lead' }, 'Batch ', h('span', { class: 'mono' }, id), ' · produced by ', h('strong', {}, b.producer)),
    facts([
      ['Details', b.attributes || '—'],
      ['Registered', [seconds(b.registeredAt), ' · ', proofLinks(txs.get('registered'))]],
      ['Status', b.recalled ? h('span', { class: 'badge badge-bad' }, 'recalled') : h('span', { class: 'badge badge-ok' }, 'no recall recorded')],
    ]),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 's-history' },
      h('h2', { id: 's-history' }, `History (${history.length} ${history.length === 1 ? 'step' : 'steps'})`),
      history.length === 0
        ? h('p', { class: 'muted' }, 'Nothing has been recorded for this batch since it was registered.')
        : h('ol', { class: 'steps' }, history.map((e, i) => step(e, i, txs.get(`step:${i}`)))),
    ),
    explanation(orgs, chain),
  );
  document.title = `${b.recalled ? 'RECALLED · ' : ''}${b.name} · Product trace · Kexin`;
  replace(
    document.getElementById('chain-info'),
    'Ledger ',
    mono(chain.chain_id),
    ` · suite ${suiteName(chain.suite)} · read at block ${named.height} from `,
    location.host,
  );
}

async function start() {
  const id = productId();
  if (id === null) {
    replace(main, h('h1', {}, 'No product given'), notice('The address should end in the product code, as printed in the QR code on the label.', 'error'));
    return;
  }
  try {
    await render(id);
  } catch (e) {
    const text = e instanceof ApiError ? (e.code === 'not_found' && /named/.test(e.message) ? 'This ledger has no traceability contract yet.' : `${e.code}: ${e.message}`) : String(e.message || e);
    replace(main, h('h1', {}, 'The history could not be read'), notice(text, 'error'));
  } finally {
    main.removeAttribute('aria-busy');
  }
}

start();
