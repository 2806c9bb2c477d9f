// A transaction: where it stands, who signed it, and what it does.

import { ApiError, api } from '../api.js';
import { badge, facts, h, hashLink, isHash, link, mono, notice, num, replace, section, table, timeEl } from '../dom.js';
import { certState } from './block.js';
import { kindName } from './dashboard.js';

export function statusBadge(status) {
  if (status === 'committed') return badge('committed', 'ok');
  if (status === 'pending') return badge('pending', 'warn');
  return badge(String(status), 'bad');
}

/** A record's metadata, or the plain statement that it is withheld. */
export function metadataView(record) {
  const m = record.metadata;
  if (!m || m === 'withheld') {
    return h('span', { class: 'muted' }, 'withheld (private to the owning organisation)');
  }
  return h(
    'span',
    { class: 'metadata' },
    h('span', { class: 'label' }, m.label === '' ? '(no label)' : m.label),
    h('span', { class: 'muted' }, ` · ${m.content_type}`),
    m.external_ref ? h('span', { class: 'muted' }, ` · ${m.external_ref}`) : null,
  );
}

/** Any JSON value as nested facts, every string as text. */
export function jsonView(value) {
  if (value === null || value === undefined) return '—';
  if (Array.isArray(value)) {
    if (!value.length) return 'none';
    return h('ol', { class: 'json-list' }, value.map((v) => h('li', {}, jsonView(v))));
  }
  if (typeof value === 'object') return facts(Object.entries(value).map(([k, v]) => [k.replaceAll('_', ' '), jsonView(v)]));
  const s = String(value);
  if (/^[0-9a-f]{65,}$/.test(s)) {
    return h('details', {}, h('summary', {}, `${s.length / 2} bytes (hex)`), mono(s));
  }
  return isHash(s) || /^[0-9a-f]{40,}$/.test(s) ? mono(s) : s;
}

/** An event's attributes as `key = value` lines, in key byte order (as the ledger keeps them;
 * a JS object would put integer-like keys first). */
export function attributeLines(attributes) {
  const enc = new TextEncoder();
  const order = (a, b) => {
    const x = enc.encode(a), y = enc.encode(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  };
  return Object.keys(attributes || {}).sort(order).map((k) => `${k} = ${attributes[k]}`);
}

/**
 * What a transaction did (protocol version 4, formats.md §4.14): status (failed in the bad
 * style, with its code and message), cost and events. `note`: where the outcome comes from.
 */
export function outcomeView(o, note, decodedLogs = []) {
  const ok = o.status === 'success';
  return [
    facts([
      ['Status', h('span', { dataset: { outcome: o.status } }, badge(o.status, ok ? 'ok' : 'bad'))],
      ok ? null : ['Failure', [h('code', {}, o.code ?? '?'), ': ', o.message ?? '']],
      ['Cost', `${num(o.cost)} cost units`],
      o.gas_used ? ['Gas used', num(o.gas_used)] : null,
      o.return_data ? ['Return data', returnDataView(o)] : null,
      note ? ['Committed', note] : null,
    ]),
    o.logs && o.logs.length
      ? table(
        ['#', 'Contract', 'Event', 'Topics', 'Data'],
        o.logs.map((l, i) => [
          String(i),
          link(`contract/${l.address}`, l.address),
          decodedLogs[i] ? eventView(decodedLogs[i]) : h('span', { class: 'muted' }, 'no published ABI decodes it'),
          h('ul', { class: 'attributes' }, l.topics.map((t) => h('li', { class: 'mono' }, t))),
          h('span', { class: 'mono break' }, l.data),
        ]),
        { caption: `${num(o.logs.length)} logs (Solidity events)`, hide: [3, 4] },
      )
      : null,
    table(
      ['Module', 'Topic', 'Attributes'],
      (o.events || []).map((e) => [
        e.module,
        e.topic,
        h('ul', { class: 'attributes' }, attributeLines(e.attributes).map((line) => h('li', { class: 'mono' }, line))),
      ]),
      { caption: `${num((o.events || []).length)} events`, empty: ok ? 'No events.' : 'No events: a failed transaction took no effect beyond consuming its nonce.' },
    ),
  ].filter(Boolean);
}

/** Decoded fields (of a call or an event) as `name: value` lines with their types. */
export function fieldsView(fields) {
  if (!fields.length) return h('span', { class: 'muted' }, 'no arguments');
  return h(
    'ul',
    { class: 'attributes' },
    fields.map((f) => h('li', {}, h('span', { class: 'muted' }, `${f.type} `), f.name ? `${f.name}: ` : '', h('span', { class: 'mono break' }, f.value))),
  );
}

/** A log decoded with its contract's published ABI (`DecodedEvent`). */
export function eventView(e) {
  return h('div', { class: 'decoded-event' }, h('strong', {}, e.event), fieldsView(e.fields));
}

/** A call decoded with its contract's published ABI (`DecodedCall`). */
export function callView(c) {
  return c.args.length ? [h('code', {}, c.signature), fieldsView(c.args)] : h('code', {}, c.signature);
}

/** A contract transaction's return data (a deployment's is the contract's address). */
function returnDataView(o) {
  return h('span', { class: 'mono break' }, o.return_data);
}

function payloadView(payload, hash, outcome, decoded) {
  switch (payload.type) {
    case 'contract_deploy':
      return facts([
        ['Init code', `${num((payload.code.length - 2) / 2)} bytes`],
        ['Gas limit', num(payload.gas_limit)],
        ['ABI', payload.abi ? `published with the deployment (${num(abiEntries(payload.abi))} entries)` : h('span', { class: 'muted' }, 'not published: calls and events show undecoded')],
        outcome && outcome.status === 'success' && outcome.return_data
          ? ['Contract', link(`contract/${outcome.return_data}`, outcome.return_data)]
          : null,
      ]);
    case 'contract_call':
      return facts([
        ['Contract', link(`contract/${payload.contract}`, payload.contract)],
        decoded && decoded.call ? ['Function', callView(decoded.call)] : null,
        ['Function selector', mono(payload.input.slice(0, 10))],
        ['Calldata', `${num((payload.input.length - 2) / 2)} bytes`],
        ['Gas limit', num(payload.gas_limit)],
      ]);
    case 'evidence':
      return table(
        ['#', 'Digest', 'Metadata', 'Receipt'],
        payload.records.map((r, i) => [
          String(i),
          hashLink(`evidence/${r.digest}`, r.digest, 16),
          metadataView(r),
          link(`receipt/${hash}/${i}`, 'Receipt'),
        ]),
        { caption: `${num(payload.records.length)} evidence records`, hide: [2] },
      );
    case 'vote':
      return facts([
        ['Proposal', hashLink(`tx/${payload.proposal}`, payload.proposal, 32)],
        ['Vote', payload.approve ? badge('yes', 'ok') : badge('no', 'bad')],
      ]);
    case 'audit_note':
      return facts([
        ['Subject', hashLink(`search/${payload.subject}`, payload.subject, 32)],
        ['Text', payload.text === 'withheld' ? h('span', { class: 'muted' }, 'withheld (for auditors only)') : h('p', { class: 'note-text' }, payload.text)],
      ]);
    default: {
      const { type, ...rest } = payload;
      return jsonView(rest);
    }
  }
}

/** The number of entries of an ABI given as JSON text (0 when it does not parse). */
export function abiEntries(text) {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.length : 0;
  } catch {
    return 0;
  }
}

export async function render({ main, signal }, hash) {
  if (!isHash(hash)) {
    replace(main, h('h1', {}, 'Invalid transaction hash'), notice(`“${hash}” is not a transaction hash (64 hexadecimal characters).`, 'error'));
    return;
  }
  hash = hash.toLowerCase();
  let tx;
  try {
    tx = await api.tx(hash);
  } catch (e) {
    // A rejected transaction is not kept, but its status says why.
    if (!(e instanceof ApiError && e.notFound)) throw e;
    const st = await api.txStatus(hash);
    replace(
      main,
      h('h1', {}, 'Transaction'),
      h('p', { class: 'subtitle mono' }, hash),
      section('Status', facts([['Status', statusBadge(st.status)], st.error ? ['Reason', `${st.error.code}: ${st.error.message}`] : null])),
    );
    return;
  }
  const t = tx.transaction;
  const [cert, block] = await Promise.all([
    t.cert ? certState(t.cert) : null,
    tx.height ? api.block(String(tx.height)).catch(() => null) : null,
  ]);
  if (signal.aborted) return;
  const kind = t.payload.type;
  const records = kind === 'evidence' ? t.payload.records.length : 0;

  replace(
    main,
    h('h1', {}, `${kindName(kind)} transaction`),
    h('p', { class: 'subtitle mono' }, hash),
    section(
      'Overview',
      facts([
        ['Status', statusBadge(tx.status)],
        ['Kind', kindName(kind)],
        tx.height !== undefined ? ['Block', [link(`block/${tx.height}`, num(tx.height)), ` · transaction ${tx.tx_index} in the block`]] : null,
        block ? ['Time', timeEl(block.header.timestamp_ms)] : null,
        tx.log_index !== undefined ? ['Log index', num(tx.log_index)] : null,
        ['Organisation', cert ? link(`org/${encodeURIComponent(cert.org)}`, cert.org) : t.cert ? 'unregistered certificate' : 'none (open chain)'],
        cert ? ['Certificate', [`${cert.name} · ${cert.role}`, ' · ', mono(t.cert)]] : null,
        ['Signer', mono(t.signer)],
        ['Nonce', num(t.nonce)],
        kind === 'evidence' ? ['Records', num(records)] : null,
        ['Chain', t.chain_id],
      ]),
      h(
        'p',
        { class: 'actions' },
        h('a', { class: 'button secondary', href: `/v1/transactions/${hash}` }, 'Transaction (JSON)'),
        tx.status === 'committed' ? h('a', { class: 'button secondary', href: `/v1/transactions/${hash}/receipt` }, 'Transaction receipt (JSON)') : null,
      ),
    ),
    tx.outcome
      ? section(
        'Outcome',
        outcomeView(
          tx.outcome,
          tx.outcome.committed
            ? 'yes: the block header\'s outcomes root commits to this outcome, and the transaction receipt proves it'
            : 'no: a block of protocol version 3 commits to no outcome (every transaction in it took effect); shown as this node\'s execution reported it',
          tx.decoded ? tx.decoded.logs || [] : [],
        ),
      )
      : null,
    section('Payload', payloadView(t.payload, hash, tx.outcome, tx.decoded)),
  );
}
