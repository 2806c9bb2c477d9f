// Texts of the receipt and verify pages that users act on: the offline command must be one
// `kexin verify` accepts for an evidence receipt (FILE or --digest, issue 13 5.3), and the
// recording organisation is named from the certificate a version 4 receipt carries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { offlineCommand, recordedBy } from '../pages/receipt.js';

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
