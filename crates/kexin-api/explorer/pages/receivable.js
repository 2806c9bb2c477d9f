// A supply-chain finance receivable (`#/receivable/ID`) on the contract the consortium named
// `scf`: its state, parties, dates and trade documents, and the lineage tree of the root it
// belongs to (which part went where, financed by whom, settled or overdue).

import { ApiError, api, view } from '../api.js';
import { badge, facts, h, link, mono, notice, num, replace, section } from '../dom.js';

/** The receivables contract's name (kexin_apps::scf::NAME). */
export const SCF_NAME = 'scf';

/** Most receivables a lineage tree reads (a root split 16 ways, twice over, is 273). */
const MAX_TREE = 300;

/** Currencies whose minor unit is a hundredth. */
const CENTS = new Set(['CNY', 'USD', 'EUR', 'HKD', 'GBP', 'SGD', 'CHF', 'AUD', 'CAD']);

/** An amount in the currency's minor unit, written in its major unit where that is known. */
export function money(amount, currency) {
  const n = BigInt(amount);
  if (!CENTS.has(currency)) return `${num(n)} ${currency} (minor units)`;
  const cents = (n % 100n).toString().padStart(2, '0');
  return `${(n / 100n).toLocaleString('en-US')}.${cents} ${currency}`;
}

const KINDS = { confirmed: 'ok', settled: 'ok', pending: 'warn', overdue: 'bad', rejected: 'bad', split: 'plain' };

/** The status as a badge: overdue and rejected stand out. */
export function statusBadge(status) {
  return badge(status, KINDS[status] || 'plain');
}

/** A Unix time in seconds as a UTC date (and time when it is not midnight). */
export function dateOf(seconds) {
  const s = Number(seconds);
  if (!s) return '—';
  const iso = new Date(s * 1000).toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** The address of the contract named `scf`, or a page saying there is none. */
export async function scfAddress(main) {
  try {
    return (await api.named(SCF_NAME)).contract;
  } catch (e) {
    if (e instanceof ApiError && e.notFound) {
      replace(main, h('h1', {}, 'Receivables'), notice('No contract is named “scf” on this chain: supply-chain finance is not set up (docs/applications.md).', 'info'));
      return null;
    }
    throw e;
  }
}

const orgLink = (org) => (org ? link(`org/${encodeURIComponent(org)}`, org) : '—');
const docLink = (d) => h('a', { href: `#/evidence/${d.replace(/^0x/, '')}`, class: 'mono break' }, d.replace(/^0x/, ''));
const zero = (d) => !d || /^0x0*$/.test(d);

/** One receivable in the tree: its part of the money and where it is now. */
function node(r, current, children) {
  const label = [
    link(`receivable/${r.id}`, `#${r.id}`),
    ` ${money(r.amount, r.currency)} · `,
    statusBadge(r.status),
    ` · held by ${r.holder}`,
    r.financed ? ` · financed by ${r.financier} at ${(Number(r.rateBps) / 100).toFixed(2)}%` : '',
  ];
  return h(
    'li',
    { dataset: { id: r.id, status: r.status } },
    h('span', { class: r.id === current ? 'current' : null, 'aria-current': r.id === current ? 'true' : null }, label),
    children.length ? h('ul', {}, children) : null,
  );
}

/** The lineage tree from `rootId`, read breadth-first up to MAX_TREE receivables. */
async function tree(address, rootId, current, signal) {
  const byId = new Map();
  let frontier = [rootId];
  while (frontier.length && byId.size < MAX_TREE) {
    const batch = frontier.slice(0, MAX_TREE - byId.size);
    const read = await Promise.all(batch.map((id) => view(address, 'get', [id], { signal })));
    frontier = [];
    for (const r of read) {
      byId.set(r.id, r);
      frontier.push(...r.children);
    }
  }
  const build = (id) => {
    const r = byId.get(id);
    return r ? node(r, current, r.children.map(build).filter(Boolean)) : null;
  };
  return { list: h('ul', { class: 'tree' }, build(rootId)), size: byId.size, cut: frontier.length > 0 };
}

export async function render({ main, signal }, id) {
  if (!/^[1-9]\d{0,18}$/.test(id)) {
    replace(main, h('h1', {}, 'Invalid receivable'), notice(`“${id}” is not a receivable id (a number from 1).`, 'error'));
    return;
  }
  const address = await scfAddress(main);
  if (!address) return;
  let r;
  try {
    r = await view(address, 'get', [id], { signal });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'contract_reverted') {
      replace(main, h('h1', {}, 'Not found'), notice(e.message, 'error'), h('p', {}, link(`contract/${address}`, 'The receivables contract')));
      return;
    }
    throw e;
  }
  const lineage = await tree(address, r.root, r.id, signal);
  replace(
    main,
    h('h1', {}, `Receivable ${r.id}`),
    r.status === 'overdue' ? notice(`Overdue: due ${dateOf(r.maturity)} and not settled by ${r.issuer}.`, 'error') : null,
    facts([
      ['Status', statusBadge(r.status)],
      ['Amount', money(r.amount, r.currency)],
      ['Holder', [orgLink(r.holder), r.financed ? ' (the financier: it holds the part it financed)' : '']],
      ['Debtor', [orgLink(r.issuer), ' (the core enterprise that issued and pays it)']],
      ['Maturity', dateOf(r.maturity)],
      r.parent !== '0' ? ['Split from', [link(`receivable/${r.parent}`, `receivable ${r.parent}`), ' · root ', link(`receivable/${r.root}`, `receivable ${r.root}`)]] : ['Root', 'it was issued directly (not split from another)'],
      r.children.length ? ['Parts', r.children.map((c, i) => [i ? ', ' : '', link(`receivable/${c}`, `#${c}`)])] : null,
      r.financed ? ['Financed', [`by ${r.financier} at a discount of ${(Number(r.rateBps) / 100).toFixed(2)}%`]] : null,
      r.offeredTo ? ['Financing offer', `to ${r.offeredTo} at ${(Number(r.offeredRateBps) / 100).toFixed(2)}%, awaiting acceptance`] : null,
      r.status === 'settled' ? ['Settled', [dateOf(r.settledAt), ' · payment reference ', mono(r.paymentRef), zero(r.paymentDoc) ? '' : [' · payment slip ', docLink(r.paymentDoc)]]] : null,
      ['Trade documents', r.docs.length ? r.docs.map((d, i) => [i ? h('br') : '', docLink(d)]) : '—'],
      ['Contract', link(`contract/${address}`, address)],
    ]),
    section(
      'Lineage',
      h('p', { class: 'muted' }, `Receivable ${r.root} and every part split from it: the parts of a split add up to it exactly.`),
      lineage.list,
      lineage.cut ? notice(`Showing the first ${num(lineage.size)} receivables of this lineage.`, 'info') : null,
    ),
  );
}
