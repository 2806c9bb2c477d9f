// A contract (or a signer's contract account): its code hash and size, who deployed it and
// when, whether the consortium froze it; and a storage slot with its offline proof.

import { api, get } from '../api.js';
import { badge, facts, h, hashLink, link, mono, notice, num, plural, replace, section, table } from '../dom.js';
import { callView, eventView } from './tx.js';

/** Whether `s` is a contract address: `0x` and 40 hexadecimal digits. */
export function isAddress(s) {
  return /^0x[0-9a-fA-F]{40}$/.test(s);
}

/** A slot as the storage endpoint takes it: a decimal number or `0x` and up to 64 hex digits. */
export function slotError(s) {
  const t = s.trim();
  if (/^\d{1,78}$/.test(t)) return null;
  if (/^0x[0-9a-fA-F]{1,64}$/.test(t)) return null;
  return 'A slot is a decimal number or 0x and up to 64 hexadecimal digits (keccak256 of the key and the mapping\'s slot for a mapping entry; see formats.md).';
}

/** The overview facts of a contract response (`GET /v1/contracts/{address}`). */
export function contractFacts(c) {
  const isContract = c.code_size > 0;
  return facts([
    ['Address', mono(c.address)],
    ['Kind', isContract ? 'contract' : 'signer account (it deployed contracts; it has no code)'],
    ['Status', c.frozen ? badge('frozen by the consortium', 'bad') : badge('active', 'ok')],
    isContract ? ['Code', [`${num(c.code_size)} bytes · keccak256 `, mono(c.code_hash)]] : null,
    isContract ? ['Deployed', [link(`block/${c.created_at}`, `block ${num(c.created_at)}`), c.creator_org ? [' by ', link(`org/${encodeURIComponent(c.creator_org)}`, c.creator_org)] : ' (open chain)']] : null,
    c.deploy_tx ? ['Deployment', hashLink(`tx/${c.deploy_tx}`, c.deploy_tx, 16)] : null,
    c.deployer ? ['Deployer', [mono(c.deployer), c.deployer_cert ? [' · certificate ', mono(c.deployer_cert.slice(0, 16))] : null]] : null,
    isContract ? ['ABI', c.abi ? `published with the deployment (${num(c.abi.length)} entries): calls and events below are decoded` : h('span', { class: 'muted' }, 'not published: calls and events show undecoded')] : null,
    ['EVM nonce', [num(c.nonce), h('span', { class: 'muted' }, ' (decides the address of the next contract it creates; a contract\'s starts at 1)')]],
    ['As of', `block ${num(c.height)}`],
  ]);
}

export async function render({ main, signal }, address) {
  if (!isAddress(address)) {
    replace(main, h('h1', {}, 'Invalid address'), notice(`“${address}” is not a contract address (0x and 40 hexadecimal digits).`, 'error'));
    return;
  }
  address = address.toLowerCase();
  let c;
  try {
    c = await api.contract(address);
  } catch (e) {
    if (e.notFound) {
      replace(main, h('h1', {}, 'Contract not found'), notice(`No contract or contract account has the address ${address} on this chain.`, 'error'));
      return;
    }
    throw e;
  }
  const isContract = c.code_size > 0;
  const [txs, events] = isContract
    ? await Promise.all([
      api.contractTxs(address).catch((e) => ({ error: e.message })),
      api.contractEvents(address, Math.max(1, c.created_at)).catch((e) => ({ error: e.message })),
    ])
    : [null, null];
  if (signal.aborted) return;
  const out = h('div', { id: 'slot-result' });
  const input = h('input', { id: 'slot', name: 'slot', placeholder: 'slot: 0, 0x…', autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    { class: 'inline-form', id: 'slot-form' },
    h('label', { for: 'slot' }, 'Storage slot '),
    input,
    h('button', { type: 'submit' }, 'Read and prove'),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const err = slotError(input.value);
    if (err) {
      replace(out, notice(err, 'error'));
      return;
    }
    replace(out, h('p', { class: 'muted' }, 'Reading…'));
    try {
      const proof = await get(`/v1/contracts/${address}/storage/${encodeURIComponent(input.value.trim())}`);
      replace(out, slotView(proof));
    } catch (e) {
      replace(out, notice(e.message, 'error'));
    }
  });
  replace(
    main,
    h('h1', {}, c.code_size > 0 ? 'Contract' : 'Contract account'),
    h('p', { class: 'subtitle mono' }, address),
    section(
      'Overview',
      contractFacts(c),
      c.abi ? h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: URL.createObjectURL(new Blob([JSON.stringify(c.abi, null, 2)], { type: 'application/json' })), download: `${address}.abi.json` }, 'Download the ABI')) : null,
    ),
    txs ? section('Transactions', txsView(txs)) : null,
    events ? section('Events', eventsView(events)) : null,
    c.code_size > 0
      ? section(
        'Storage',
        h('p', { class: 'muted' }, 'A slot\'s value with a proof that checks offline against the genesis alone: ', h('code', {}, 'kexin verify --state-proof FILE --genesis genesis.json'), '.'),
        form,
        out,
      )
      : null,
  );
}

/** A storage slot's value and its proof document (a state proof, formats.md). */
export function slotView(p) {
  const blob = new Blob([JSON.stringify(p, null, 2)], { type: 'application/json' });
  return [
    facts([
      ['Value', p.value_hex ? mono(`0x${p.value_hex}`) : 'empty (zero): the proof shows the slot is absent'],
      ['Proven at', link(`block/${p.header?.height}`, `block ${num(p.header?.height ?? 0)}`)],
    ]),
    h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: URL.createObjectURL(blob), download: 'storage.proof.json' }, 'Download the proof')),
  ];
}

/** The newest transactions that deployed or called a contract (`ContractTxsResponse`). */
export function txsView(page) {
  if (page.error) return notice(page.error, 'error');
  return table(
    ['Transaction', 'Block', 'From', 'Call', 'Status', 'Gas'],
    page.transactions.map((t) => [
      hashLink(`tx/${t.tx_hash}`, t.tx_hash, 12),
      link(`block/${t.height}`, num(t.height)),
      [mono(t.from), t.org ? h('span', { class: 'muted' }, ` · ${t.org}`) : null],
      t.kind === 'contract_deploy'
        ? badge('deployment', 'plain')
        : t.call
          ? callView(t.call)
          : h('span', { class: 'mono' }, t.selector ?? '(no selector)'),
      t.status === 'success' ? badge('success', 'ok') : [badge('failed', 'bad'), ' ', h('code', {}, t.code ?? '')],
      num(t.gas_used),
    ]),
    {
      caption: page.next_before ? `The newest ${plural(page.transactions.length, 'transaction')}` : plural(page.transactions.length, 'transaction'),
      empty: 'No transaction deployed or called it directly (another contract created it).',
      hide: [2, 5],
    },
  );
}

/** The first page of a contract's logs from its deployment on (`ContractEventsResponse`). */
export function eventsView(page) {
  if (page.error) return notice(page.error, 'error');
  return table(
    ['Block', 'Transaction', 'Event'],
    page.logs.map((l) => [
      link(`block/${l.height}`, num(l.height)),
      hashLink(`tx/${l.tx_hash}`, l.tx_hash, 12),
      l.decoded ? eventView(l.decoded) : h('span', { class: 'mono' }, `topic0 ${l.topics[0] ?? '(anonymous)'}`),
    ]),
    {
      caption: page.next_from_height
        ? `The first ${plural(page.logs.length, 'log')}, blocks ${num(page.from_height)} to ${num(page.to_height)} (kexin contract events lists them all)`
        : `${plural(page.logs.length, 'log')}, blocks ${num(page.from_height)} to ${num(page.to_height)}`,
      empty: 'No logs.',
    },
  );
}
