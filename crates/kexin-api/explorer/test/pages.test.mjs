// Texts of the receipt and verify pages that users act on: the offline command must be one
// `kexin verify` accepts for an evidence receipt (FILE or --digest, issue 13 5.3), and the
// recording organisation is named from the certificate a version 4 receipt carries; the
// outcome of a transaction (protocol version 4) as the transaction and receipt pages show it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offlineCommand, recordedBy } from '../pages/receipt.js';
import { attributeLines, outcomeView } from '../pages/tx.js';
import { contractFacts, eventsView, isAddress, slotError, txsView } from '../pages/contract.js';
import { classify } from '../pages/search.js';

test('the offline command gives the data: --digest when known, else a FILE argument', () => {
  const d = 'ab'.repeat(32);
  assert.equal(offlineCommand('x.receipt.json', { digest: d }), `kexin verify --digest ${d} --receipt x.receipt.json --genesis genesis.json`);
  assert.equal(offlineCommand('x.receipt.json'), 'kexin verify FILE --receipt x.receipt.json --genesis genesis.json');
  assert.equal(offlineCommand('r.json', { dataFile: 'contract.pdf' }), 'kexin verify contract.pdf --receipt r.json --genesis genesis.json');
  // Never the form `kexin verify` refuses for an evidence receipt ("give FILE or --digest").
  for (const cmd of [offlineCommand(), offlineCommand('r.json', { digest: d })]) {
    assert.doesNotMatch(cmd, /^kexin verify --receipt/);
  }
});

test('the recording organisation comes from the receipt, else the registry', () => {
  assert.equal(
    recordedBy({ organisation: 'org1', role: 'writer', name: 'alice' }, { org: 'x', role: 'y', name: 'z' }),
    'org1 (writer, alice), from the certificate in the receipt',
  );
  assert.equal(recordedBy(null, { org: 'org2', role: 'writer', name: 'bob' }), "org2 (writer, bob), as this node's certificate registry says");
  assert.match(recordedBy(undefined, null), /^not named/);
});

// A minimal DOM (elements, text, attributes, dataset), enough for dom.js's builders.
class FakeNode {}
class FakeText extends FakeNode {
  constructor(text) { super(); this.text = text; }
  get textContent() { return this.text; }
}
class FakeElement extends FakeNode {
  constructor(tag) {
    super();
    this.tag = tag;
    this.children = [];
    this.attrs = {};
    this.dataset = {};
    this.className = '';
  }
  setAttribute(k, v) { this.attrs[k] = v; }
  addEventListener() {}
  append(...nodes) { this.children.push(...nodes); }
  replaceChildren() { this.children = []; }
  get textContent() { return this.children.map((c) => c.textContent).join(''); }
  /** Every element below (and including) this one matching `pred`. */
  all(pred) {
    const out = pred(this) ? [this] : [];
    for (const c of this.children) if (c instanceof FakeElement) out.push(...c.all(pred));
    return out;
  }
}
function withFakeDom(fn) {
  const saved = [globalThis.document, globalThis.Node];
  globalThis.Node = FakeNode;
  globalThis.document = { createElement: (t) => new FakeElement(t), createTextNode: (t) => new FakeText(t) };
  try {
    return fn();
  } finally {
    [globalThis.document, globalThis.Node] = saved;
  }
}
const render = (nodes) => {
  const root = new FakeElement('div');
  root.append(...[nodes].flat(Infinity));
  return root;
};

test('outcome: attributes as key = value lines in key byte order', () => {
  assert.deepEqual(attributeLines({ org: 'org1', count: '3', 10: 'x', new_digests: '2' }), ['10 = x', 'count = 3', 'new_digests = 2', 'org = org1']);
  assert.deepEqual(attributeLines({}), []);
  assert.deepEqual(attributeLines(undefined), []);
});

test('outcome: status badge, cost, failure and the events table', () => {
  withFakeDom(() => {
    const ok = render(outcomeView({
      status: 'success', cost: 13, committed: true,
      events: [{ module: 'evidence', topic: 'records_attested', attributes: { new_digests: '2', count: '3' } }],
    }, 'yes'));
    const status = ok.all((e) => e.dataset.outcome !== undefined);
    assert.equal(status.length, 1);
    assert.equal(status[0].dataset.outcome, 'success');
    assert.equal(status[0].all((e) => e.className === 'badge badge-ok').length, 1);
    assert.match(ok.textContent, /13 cost units/);
    assert.doesNotMatch(ok.textContent, /Failure/);
    const rows = ok.all((e) => e.tag === 'tr').slice(1).map((r) => r.children.map((c) => c.textContent));
    assert.deepEqual(rows, [['evidence', 'records_attested', 'count = 3new_digests = 2']]);
    const bad = render(outcomeView({ status: 'failed', code: 'cert_revoked', message: 'revoked at height 5', cost: 30n, events: [] }));
    assert.equal(bad.all((e) => e.dataset.outcome === 'failed')[0].all((e) => e.className === 'badge badge-bad').length, 1);
    assert.match(bad.textContent, /Failurecert_revoked: revoked at height 5/);
    assert.match(bad.textContent, /30 cost units/);
    assert.match(bad.textContent, /No events: a failed transaction/);
    assert.equal(bad.all((e) => e.tag === 'table').length, 0);
  });
});

test('contract outcome: gas used, return data and the logs table linking the contract', () => {
  withFakeDom(() => {
    const address = '0x' + 'ab'.repeat(20);
    const topic = 'cd'.repeat(32);
    const out = render(outcomeView({
      status: 'success', cost: 110, version: 5, gas_used: 51234, return_data: '0x' + '00'.repeat(31) + '01',
      events: [], logs: [{ address, topics: [topic], data: '0x' + '00'.repeat(31) + '07' }],
    }));
    assert.match(out.textContent, /Gas used51,234/);
    assert.match(out.textContent, /Return data0x0{62}01/);
    const tables = out.all((e) => e.tag === 'table');
    assert.equal(tables.length, 1, 'the logs (no events: an empty events list is a line)');
    assert.match(tables[0].textContent, /1 logs \(Solidity events\)/);
    const logRows = tables[0].all((e) => e.tag === 'tr').slice(1);
    assert.equal(logRows.length, 1);
    const links = logRows[0].all((e) => e.tag === 'a');
    assert.equal(links[0].attrs.href, `#/contract/${address}`);
    assert.match(logRows[0].textContent, new RegExp(topic));
    // An evidence outcome shows neither.
    const plain = render(outcomeView({ status: 'success', cost: 11, events: [] }));
    assert.doesNotMatch(plain.textContent, /Gas used|Return data/);
  });
});

test('contract pages: addresses, slots, search, and the overview of a contract', () => {
  assert.ok(isAddress('0x' + 'aB'.repeat(20)));
  for (const bad of ['ab'.repeat(20), '0x' + 'ab'.repeat(19), '0x' + 'zz'.repeat(20)]) assert.ok(!isAddress(bad), bad);
  for (const ok of ['0', '42', '0x0', '0x' + 'f'.repeat(64)]) assert.equal(slotError(ok), null, ok);
  for (const bad of ['', '-1', '0x', '0x' + 'f'.repeat(65), 'slot 1']) assert.match(slotError(bad), /decimal number/, bad);
  const a = '0x' + 'AB'.repeat(20);
  assert.deepEqual(classify(a), { route: `contract/${a.toLowerCase()}` });
  assert.ok(classify('0x' + 'ab'.repeat(32)).lookup, 'a 32-byte hash is still looked up');
  withFakeDom(() => {
    const c = { address: a.toLowerCase(), code_hash: 'ee'.repeat(32), code_size: 1234, nonce: 0, frozen: true, created_at: 7, creator_org: 'org1', height: 9 };
    const view = render(contractFacts(c));
    assert.match(view.textContent, /Kindcontract/);
    assert.match(view.textContent, /frozen by the consortium/);
    assert.match(view.textContent, /1,234 bytes/);
    const hrefs = view.all((e) => e.tag === 'a').map((e) => e.attrs.href);
    assert.deepEqual(hrefs, ['#/block/7', '#/org/org1']);
    const account = render(contractFacts({ ...c, code_size: 0, frozen: false, created_at: 0, creator_org: '' }));
    assert.match(account.textContent, /signer account/);
    assert.match(account.textContent, /active/);
    assert.doesNotMatch(account.textContent, /Deployed/);
  });
});

test('contract pages decode calls and events with the published ABI, and say when none is', () => {
  withFakeDom(() => {
    const a = '0x' + 'ab'.repeat(20);
    const from = '0x' + 'cd'.repeat(20);
    const call = { function: 'transfer', signature: 'transfer(address,uint256)', args: [{ name: 'to', type: 'address', value: from }, { name: 'amount', type: 'uint256', value: '250' }] };
    const txs = render(txsView({
      contract: a,
      height: 9,
      transactions: [
        { tx_hash: '11'.repeat(32), height: 8, tx_index: 0, kind: 'contract_call', from, org: 'org2', status: 'failed', code: 'contract_reverted', gas_used: 30000, selector: '0xa9059cbb', call },
        { tx_hash: '22'.repeat(32), height: 7, tx_index: 1, kind: 'contract_call', from, status: 'success', gas_used: 51000, selector: '0x12345678' },
        { tx_hash: '33'.repeat(32), height: 5, tx_index: 0, kind: 'contract_deploy', from, status: 'success', gas_used: 400000 },
      ],
    }));
    const rows = txs.all((e) => e.tag === 'tr').slice(1);
    assert.equal(rows.length, 3);
    assert.match(rows[0].textContent, /transfer\(address,uint256\)/);
    assert.match(rows[0].textContent, /uint256 amount: 250/);
    assert.match(rows[0].textContent, /failed contract_reverted/);
    assert.match(rows[0].textContent, /org2/);
    assert.match(rows[1].textContent, /0x12345678/, 'an undecoded call shows its selector');
    assert.match(rows[2].textContent, /deployment/);
    assert.equal(rows[0].all((e) => e.tag === 'a')[0].attrs.href, `#/tx/${'11'.repeat(32)}`);
    assert.match(txs.textContent, /3 transactions/);
    const empty = render(txsView({ contract: a, height: 9, transactions: [] }));
    assert.match(empty.textContent, /another contract created it/);
    assert.match(render(txsView({ error: 'boom' })).textContent, /boom/);

    const events = render(eventsView({
      contract: a, from_height: 5, to_height: 9, height: 9, next_from_height: 10,
      logs: [
        { tx_hash: '11'.repeat(32), height: 8, tx_index: 0, log_index: 0, contract: a, topics: ['ee'.repeat(32)], data: '0x', decoded: { event: 'Transfer', signature: 'Transfer(address,address,uint256)', fields: [{ name: 'value', type: 'uint256', value: '7' }] } },
        { tx_hash: '22'.repeat(32), height: 9, tx_index: 0, log_index: 0, contract: a, topics: ['ff'.repeat(32)], data: '0x' },
      ],
    }));
    const erows = events.all((e) => e.tag === 'tr').slice(1);
    assert.match(erows[0].textContent, /Transfer/);
    assert.match(erows[0].textContent, /uint256 value: 7/);
    assert.match(erows[1].textContent, new RegExp(`topic0 ${'ff'.repeat(32)}`));
    assert.match(events.textContent, /The first 2 logs, blocks 5 to 9/);

    const published = render(contractFacts({ address: a, code_hash: 'ee'.repeat(32), code_size: 10, nonce: 1, frozen: false, created_at: 5, creator_org: 'org1', height: 9, deploy_tx: '33'.repeat(32), deployer: from, abi: [{ type: 'function' }, { type: 'event' }] }));
    assert.match(published.textContent, /published with the deployment \(2 entries\)/);
    assert.match(published.textContent, new RegExp(`Deployer${from}`));
    assert.ok(published.all((e) => e.tag === 'a').some((e) => e.attrs.href === `#/tx/${'33'.repeat(32)}`));
    const unpublished = render(contractFacts({ address: a, code_hash: 'ee'.repeat(32), code_size: 10, nonce: 1, frozen: false, created_at: 5, creator_org: '', height: 9 }));
    assert.match(unpublished.textContent, /not published/);

    const out = render(outcomeView(
      { status: 'success', cost: 110, version: 5, gas_used: 5, events: [], logs: [{ address: a, topics: ['ee'.repeat(32)], data: '0x' }, { address: a, topics: [], data: '0x' }] },
      null,
      [{ event: 'Incremented', signature: 'Incremented(address,uint256)', fields: [{ name: 'value', type: 'uint256', value: '1' }] }, null],
    ));
    const lrows = out.all((e) => e.tag === 'table')[0].all((e) => e.tag === 'tr').slice(1);
    assert.match(lrows[0].textContent, /Incremented/);
    assert.match(lrows[1].textContent, /no published ABI decodes it/);
  });
});
