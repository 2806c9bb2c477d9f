// The dashboard: chain, height, validators online, organisations, throughput with a live
// chart, latest blocks and transactions (kept current by the /v1/events stream).

import { api } from '../api.js';
import { rate, rateChart } from '../chart.js';
import { ago, badge, h, hashLink, link, num, replace, section, suiteName, tableRow, tableShell, time } from '../dom.js';

const LATEST = 10;
const WINDOW_S = 300;
const BUCKET_S = 10;
const REFRESH_MS = 5000;

export const KIND_NAMES = {
  evidence: 'Evidence',
  revoke_cert: 'Revoke certificate',
  add_ca: 'Add CA',
  propose: 'Proposal',
  vote: 'Vote',
  audit_note: 'Audit note',
  contract_deploy: 'Contract deployment',
  contract_call: 'Contract call',
};

export function kindName(kind) {
  return KIND_NAMES[kind] || String(kind);
}

function stat(label, value, { id, note, small } = {}) {
  return h(
    'div',
    { class: 'stat' },
    h('p', { class: 'label', id: id && `${id}-label` }, label),
    h('p', { class: small ? 'value small' : 'value', id }, value),
    note ? h('p', { class: 'note' }, note) : null,
  );
}

/** Rates per second from a /v1/stats answer: the chart's points and the last minute's figures. */
export function rates(stats) {
  const now = stats.now_ms;
  const bucketMs = stats.bucket_s * 1000;
  const points = [];
  for (const b of stats.buckets) {
    const span = Math.min(bucketMs, now - b.start_ms);
    if (span < bucketMs / 2) continue; // a bucket just begun says little yet
    points.push({ t: b.start_ms + span, tx: (b.transactions * 1000) / span, rec: (b.records * 1000) / span });
  }
  const recent = stats.buckets.filter((b) => b.start_ms >= now - 60000);
  const since = recent.length ? Math.min(...recent.map((b) => b.start_ms)) : now;
  const secs = Math.max(1, (now - since) / 1000);
  const sum = (k) => recent.reduce((a, b) => a + b[k], 0);
  return { points, tx: sum('transactions') / secs, rec: sum('records') / secs };
}

export async function render(ctx) {
  const { main, signal } = ctx;
  const [chain, vals, orgs, blocks, txs, stats] = await Promise.all([
    api.chain({ fresh: true }),
    api.validators(),
    api.orgs(),
    api.blocks(LATEST),
    api.transactions(LATEST),
    api.stats(WINDOW_S, BUCKET_S),
  ]);
  if (signal.aborted) return;

  const live = h('span', { class: 'live', 'data-state': 'connecting', role: 'status' }, 'Connecting…');
  const heightEl = stat('Height', num(Math.max(blocks.height, chain.height)), { id: 'stat-height' });
  const valEl = stat('Validators', `${vals.online} / ${vals.total}`, {
    id: 'stat-validators',
    note: `online / total · quorum ${vals.quorum}`,
  });
  const txRate = stat('Transactions/s', '0', { id: 'stat-tx-rate', note: 'last minute' });
  const recRate = stat('Records/s', '0', { id: 'stat-rec-rate', note: 'last minute' });
  const chartBox = h('div', { class: 'chart-box' });

  const blockTable = tableShell(['Height', 'Time', 'Proposer', 'Txs', 'Records'], { caption: 'Newest first', hide: [1] });
  const txTable = tableShell(['Transaction', 'Kind', 'Organisation', 'Records', 'Block'], { caption: 'Newest first', hide: [2] });
  const valTable = tableShell(['Validator', 'Organisation', 'Status', 'Last seen'], { hide: [3] });

  replace(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, 'Dashboard'), live),
    h(
      'div',
      { class: 'stats' },
      stat('Chain', chain.chain_id, { id: 'stat-chain', small: true }),
      stat('Suite', suiteName(chain.suite), { id: 'stat-suite', small: true }),
      heightEl,
      valEl,
      stat('Organisations', num(orgs.orgs.length), { id: 'stat-orgs' }),
      txRate,
      recRate,
    ),
    section(
      'Throughput',
      chartBox,
      h(
        'ul',
        { class: 'legend' },
        h('li', {}, h('span', { class: 'sw', 'aria-hidden': 'true' }), 'transactions/s'),
        h('li', {}, h('span', { class: 'sw rec', 'aria-hidden': 'true' }), 'evidence records/s'),
        h('li', {}, `last ${WINDOW_S / 60} minutes, ${BUCKET_S} s buckets`),
      ),
    ),
    h(
      'div',
      { class: 'grid' },
      section('Latest blocks', h('div', { id: 'latest-blocks' }, blockTable.wrap)),
      section('Latest transactions', h('div', { id: 'latest-transactions' }, txTable.wrap)),
    ),
    h(
      'div',
      { class: 'grid' },
      section('Validators', valTable.wrap),
      section(
        'Organisations',
        h(
          'ul',
          { class: 'plain-list' },
          orgs.orgs.map((o) =>
            h('li', {}, link(`org/${encodeURIComponent(o.name)}`, o.name), h('span', { class: 'muted' }, ` · ${o.ca_certs.length} CA · validators: ${o.validators.join(', ') || 'none'}`)),
          ),
        ),
      ),
    ),
  );

  const names = new Map(vals.validators.map((v) => [v.public_key, v.name]));
  const blockRow = (b, fresh) =>
    tableRow(
      [
        link(`block/${b.height}`, num(b.height)),
        time(b.timestamp_ms),
        b.proposer_name || names.get(b.proposer)
          ? link(`validator/${b.proposer}`, b.proposer_name || names.get(b.proposer))
          : hashLink(`validator/${b.proposer}`, b.proposer, 6),
        num(b.tx_count),
        num(b.records),
      ],
      [1],
      { class: fresh ? 'fresh' : null, dataset: { height: b.height } },
    );
  const txRow = (t, fresh) =>
    tableRow(
      [
        hashLink(`tx/${t.hash}`, t.hash, 8),
        kindName(t.kind),
        t.org ? link(`org/${encodeURIComponent(t.org)}`, t.org) : '—',
        num(t.records),
        link(`block/${t.height}`, num(t.height)),
      ],
      [2],
      { class: fresh ? 'fresh' : null, dataset: { hash: t.hash } },
    );
  const emptyRow = (n, text) => h('tr', { class: 'empty' }, h('td', { colspan: n, class: 'muted' }, text));

  const fill = (tbody, items, row, n, none) => {
    replace(tbody, items.length ? items.map((i) => row(i, false)) : emptyRow(n, none));
  };
  fill(blockTable.tbody, blocks.blocks, blockRow, 5, 'No blocks yet.');
  fill(txTable.tbody, txs.transactions, txRow, 5, 'No transactions yet.');

  const prepend = (tbody, tr, key) => {
    tbody.querySelector('tr.empty')?.remove();
    if ([...tbody.children].some((r) => r.dataset[key] === tr.dataset[key])) return;
    tbody.prepend(tr);
    while (tbody.children.length > LATEST) tbody.lastElementChild.remove();
  };

  const showValidators = (v) => {
    valEl.querySelector('.value').textContent = `${v.online} / ${v.total}`;
    replace(
      valTable.tbody,
      v.validators.map((x) =>
        tableRow(
          [
            link(`validator/${x.public_key}`, x.name),
            link(`org/${encodeURIComponent(x.org)}`, x.org),
            x.online ? badge('online', 'ok') : badge('offline', 'bad'),
            x.is_self ? 'this node' : x.last_seen_ms !== undefined ? ago(Date.now() - x.last_seen_ms) : 'not yet',
          ],
          [3],
        ),
      ),
    );
  };
  const showStats = (s) => {
    const r = rates(s);
    txRate.querySelector('.value').textContent = rate(r.tx);
    recRate.querySelector('.value').textContent = rate(r.rec);
    lastPoints = r.points;
    drawChart();
  };
  let lastPoints = [];
  const drawChart = () => {
    drawnWidth = Math.floor(chartBox.clientWidth);
    const width = Math.max(240, drawnWidth);
    const label = `Transactions and evidence records per second, last ${WINDOW_S / 60} minutes`;
    replace(chartBox, rateChart(lastPoints, { width, height: width < 500 ? 140 : 180, label }));
  };
  let drawnWidth = 0;
  const resize = new ResizeObserver(() => {
    if (Math.floor(chartBox.clientWidth) !== drawnWidth) drawChart();
  });
  resize.observe(chartBox);
  signal.addEventListener('abort', () => resize.disconnect());
  let height = Math.max(blocks.height, chain.height);
  const setHeight = (hgt) => {
    if (hgt <= height) return;
    height = hgt;
    heightEl.querySelector('.value').textContent = num(height);
  };
  showValidators(vals);
  showStats(stats);

  // Live: every block and transaction after the ones listed, in order; the browser resumes
  // from the last block id after a dropped connection.
  const events = new EventSource(`/v1/events?from_height=${blocks.height + 1}`);
  signal.addEventListener('abort', () => events.close());
  events.addEventListener('open', () => {
    live.dataset.state = 'live';
    live.textContent = 'Live';
  });
  events.addEventListener('error', () => {
    live.dataset.state = 'down';
    live.textContent = events.readyState === EventSource.CLOSED ? 'Disconnected' : 'Reconnecting…';
  });
  events.addEventListener('block', (ev) => {
    const b = JSON.parse(ev.data);
    setHeight(b.height);
    prepend(blockTable.tbody, blockRow(b, true), 'height');
  });
  events.addEventListener('transaction', (ev) => {
    const t = JSON.parse(ev.data);
    prepend(txTable.tbody, txRow(t, true), 'hash');
  });

  const timer = setInterval(async () => {
    try {
      const [v, s] = await Promise.all([api.validators(), api.stats(WINDOW_S, BUCKET_S)]);
      if (signal.aborted) return;
      showValidators(v);
      showStats(s);
      setHeight(s.height);
    } catch {
      // the live indicator already tells the node is unreachable
    }
  }, REFRESH_MS);
  signal.addEventListener('abort', () => clearInterval(timer));
}
