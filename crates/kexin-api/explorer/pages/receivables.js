// An organisation's open receivables (`#/receivables/ORG`): those it holds that are not
// settled (pending, confirmed or overdue), and those it owes as the debtor.

import { view } from '../api.js';
import { h, link, notice, replace, section, table } from '../dom.js';
import { dateOf, money, scfAddress, statusBadge } from './receivable.js';

/** Receivables per `page` call (the contract's MAX_PAGE). */
const PAGE = 50;

const OPEN = new Set(['pending', 'confirmed', 'overdue']);

export async function render({ main, signal }, org) {
  const address = await scfAddress(main);
  if (!address) return;
  const count = Number(await view(address, 'count', [], { signal }));
  const all = [];
  for (let from = 1; from <= count; from += PAGE) {
    all.push(...(await view(address, 'page', [from, PAGE], { signal })));
  }
  const held = all.filter((r) => r.holder === org && OPEN.has(r.status));
  const owed = all.filter((r) => r.issuer === org && OPEN.has(r.status));
  const row = (r, party) => [
    link(`receivable/${r.id}`, `#${r.id}`),
    money(r.amount, r.currency),
    dateOf(r.maturity),
    statusBadge(r.status),
    party === 'holder' ? r.holder : r.issuer,
  ];
  replace(
    main,
    h('h1', {}, `Receivables of ${org}`),
    h('p', {}, 'Open receivables on the contract named “scf”: not yet settled. ', link(`org/${encodeURIComponent(org)}`, `About ${org}`), '.'),
    held.some((r) => r.status === 'overdue') || owed.some((r) => r.status === 'overdue') ? notice('Some receivables are overdue: past maturity and not settled.', 'error') : null,
    section(
      'Held',
      table(['Receivable', 'Amount', 'Maturity', 'Status', 'Debtor'], held.map((r) => row(r, 'issuer')), {
        caption: `Open receivables ${org} holds`,
        empty: `${org} holds no open receivable.`,
        hide: [2],
      }),
    ),
    section(
      'Owed',
      table(['Receivable', 'Amount', 'Maturity', 'Status', 'Holder'], owed.map((r) => row(r, 'holder')), {
        caption: `Open receivables ${org} owes as the debtor`,
        empty: `${org} owes no open receivable.`,
        hide: [2],
      }),
    ),
    h('p', { class: 'muted' }, `Read from ${all.length} receivables in all.`),
  );
}
