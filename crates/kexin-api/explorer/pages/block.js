// A block: its header, its commit certificate and its transactions.

import { api, find } from '../api.js';
import { facts, h, hashLink, isHash, link, mono, notice, num, plural, replace, section, table, timeEl } from '../dom.js';
import { kindName } from './dashboard.js';

/** BFT quorum of `n` validators: n − f, f = ⌊(n − 1) / 3⌋. */
export function quorum(n) {
  return n - Math.floor((n - 1) / 3);
}

/** How many transactions of a block get their kind looked up. */
const DETAIL_LIMIT = 100;

export async function render({ main, signal }, id) {
  if (!/^\d{1,20}$/.test(id) && !isHash(id) && id !== 'latest') {
    replace(
      main,
      h('h1', {}, 'Invalid block'),
      notice(`“${id}” is not a block height (a whole number) or a block hash (64 hexadecimal characters).`, 'error'),
    );
    return;
  }
  const block = await api.block(isHash(id) ? id.toLowerCase() : id);
  const hd = block.header;
  const cert = block.certificate;
  const [epoch, chain] = await Promise.all([find(`/v1/epochs/${cert.epoch}`), api.chain({ fresh: true })]);
  if (signal.aborted) return;
  const validators = epoch ? epoch.validators : [];
  const proposer = validators.find((v) => v.public_key === hd.proposer);
  // A finalization certificate indexes the validators sorted by key bytes (the consensus
  // order); a signatures certificate indexes them as listed.
  const order = cert.kind === 'finalization' ? [...validators].sort((a, b) => (a.public_key < b.public_key ? -1 : 1)) : validators;
  const signers = cert.signatures.map((s) => order[s.validator]?.name ?? `#${s.validator}`);

  const txTable = table(
    ['#', 'Transaction', 'Kind', 'Organisation'],
    block.transactions.map((t, i) => [String(i), hashLink(`tx/${t}`, t, 16), h('span', { dataset: { kind: t } }, '…'), h('span', { dataset: { org: t } }, '…')]),
    { empty: 'No transactions: this block only finalizes the chain.', hide: [3] },
  );

  replace(
    main,
    h('h1', {}, `Block ${num(hd.height)}`),
    h('p', { class: 'subtitle mono' }, block.hash),
    h(
      'nav',
      { class: 'pager', 'aria-label': 'Neighbouring blocks' },
      hd.height > 1 ? link(`block/${hd.height - 1}`, `← Block ${num(hd.height - 1)}`) : null,
      hd.height < chain.height ? link(`block/${hd.height + 1}`, `Block ${num(hd.height + 1)} →`) : h('span', { class: 'muted' }, 'the latest block'),
    ),
    section(
      'Header',
      facts([
        ['Height', num(hd.height)],
        ['Block hash', mono(block.hash)],
        ['Parent hash', hd.height > 1 ? hashLink(`block/${hd.parent_hash}`, hd.parent_hash, 32) : [mono(hd.parent_hash), ' (the genesis)']],
        ['Time', timeEl(hd.timestamp_ms)],
        ['Proposer', [proposer ? link(`validator/${hd.proposer}`, proposer.name) : hashLink(`validator/${hd.proposer}`, hd.proposer), proposer ? ` (${proposer.org})` : '']],
        ['Transactions', num(hd.tx_count)],
        ['Log size', `${plural(hd.log_size, 'transaction')} in the chain's log after this block`],
        ['Log root', mono(hd.log_root)],
        ['State root', mono(hd.state_root)],
        ['Protocol version', String(hd.version ?? 3)],
        hd.outcomes_root ? ['Outcomes root', mono(hd.outcomes_root)] : null,
      ]),
    ),
    section(
      'Commit certificate',
      facts([
        ['Kind', cert.kind],
        ['Epoch', num(cert.epoch)],
        ['View', `${num(cert.view)} (parent view ${num(cert.parent_view)})`],
        [
          'Signatures',
          validators.length
            ? `${cert.signatures.length} of ${validators.length} validators (quorum ${quorum(validators.length)})`
            : `${cert.signatures.length}`,
        ],
        ['Signed by', signers.join(', ')],
      ]),
      h('p', { class: 'muted' }, 'A receipt page checks these signatures in the browser; ', h('code', {}, 'kexin verify'), ' checks them offline against the genesis.'),
    ),
    section(`Transactions (${num(block.transactions.length)})`, txTable),
  );

  // Kinds and organisations, looked up after the page is shown.
  for (const hash of block.transactions.slice(0, DETAIL_LIMIT)) {
    if (signal.aborted) return;
    const kindEl = main.querySelector(`[data-kind="${hash}"]`);
    const orgEl = main.querySelector(`[data-org="${hash}"]`);
    try {
      const tx = await api.tx(hash);
      const payload = tx.transaction.payload;
      const n = payload.type === 'evidence' ? ` · ${plural(payload.records.length, 'record')}` : '';
      kindEl.textContent = kindName(payload.type) + n;
      const org = tx.transaction.cert ? (await certState(tx.transaction.cert))?.org : null;
      replace(orgEl, org ? link(`org/${encodeURIComponent(org)}`, org) : '—');
    } catch {
      kindEl.textContent = '—';
      orgEl.textContent = '—';
    }
  }
}

const certStates = new Map();

/** A registered certificate's registry entry (org, name, role, validity...), by id; null when
 * not registered (cached per page load). */
export function certState(id) {
  if (!certStates.has(id)) {
    certStates.set(
      id,
      find(`/v1/state/cert/${id}`)
        .then((r) => (r?.value?.kind === 'cert' ? r.value : null))
        .catch(() => null),
    );
  }
  return certStates.get(id);
}
