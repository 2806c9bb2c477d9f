// Texts of the receipt and verify pages that users act on: the offline command must be one
// `kexin verify` accepts for an evidence receipt (FILE or --digest, issue 13 5.3), and the
// recording organisation is named from the certificate a version 4 receipt carries; the
// outcome of a transaction (protocol version 4) as the transaction and receipt pages show it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offlineCommand, recordedBy } from '../pages/receipt.js';
import { attributeLines, outcomeView } from '../pages/tx.js';

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
