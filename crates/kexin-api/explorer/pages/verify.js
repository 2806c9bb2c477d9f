// Verify a file: its digest is computed here, in the browser (the file is never uploaded),
// then looked up on the chain, and each record's receipt is checked.

import { api, find, genesisExact } from '../api.js';
import { badge, h, hashLink, hashName, link, mono, notice, num, replace, section, time } from '../dom.js';
import { digestBlob, toHex } from '../lib/hash.js';
import { recordedBy, runChecks, stepsView, verdictView } from './receipt.js';

/** Records whose receipts are checked (the evidence page lists them all). */
const CHECK_LIMIT = 20;

export async function render({ main, signal }) {
  const chain = await api.chain();
  if (signal.aborted) return;
  const algo = hashName(chain.suite);
  const input = h('input', { type: 'file', id: 'verify-file', name: 'file', 'aria-describedby': 'verify-help' });
  const out = h('div', { id: 'verify-result', 'aria-live': 'polite' });

  input.addEventListener('change', () => {
    const file = input.files && input.files[0];
    if (file) check(file, chain, out, signal);
  });

  replace(
    main,
    h('h1', {}, 'Verify a file'),
    section(
      'Pick a file',
      h(
        'p',
        { id: 'verify-help' },
        `Your browser computes the file's ${algo} digest itself (this chain's suite is ${chain.suite}); `,
        h('strong', {}, 'the file never leaves your computer'),
        '. Only the digest is looked up on the chain.',
      ),
      h('div', { class: 'file-pick' }, h('label', { for: 'verify-file' }, 'File to verify'), input),
    ),
    out,
  );
}

async function check(file, chain, out, signal) {
  const progress = h('progress', { max: file.size || 1, value: 0, 'aria-label': 'Computing the digest' });
  replace(out, section('Result', h('p', {}, `Computing the ${hashName(chain.suite)} digest of “${file.name}” (${num(file.size)} bytes)…`), progress));
  let digest;
  try {
    const bytes = await digestBlob(chain.suite, file, { onProgress: (done) => (progress.value = done) });
    digest = toHex(bytes);
  } catch (e) {
    replace(out, notice(`Could not read the file: ${e.message || e}`, 'error'));
    return;
  }
  if (signal.aborted) return;
  const evidence = await find(`/v1/evidence/${digest}?limit=${CHECK_LIMIT}`).catch((e) => ({ error: e }));
  if (signal.aborted) return;
  const head = [
    h('p', {}, 'File: ', h('strong', {}, file.name), ` · ${num(file.size)} bytes`),
    h('p', {}, `${hashName(chain.suite)} digest, computed in this browser: `, mono(digest)),
  ];
  if (evidence?.error) {
    replace(out, section('Result', head, notice(`The node could not be asked: ${evidence.error.message}`, 'error')));
    return;
  }
  if (!evidence) {
    replace(
      out,
      section(
        'Result',
        h('p', { class: 'result', dataset: { result: 'not-found' } }, badge('Not verified', 'bad'), ' Not found on this chain'),
        head,
        notice(
          'No record on this chain has this digest: the file was never attested here, or it differs from the file that was (even one changed byte gives a different digest).',
          'error',
        ),
      ),
    );
    return;
  }

  // Check the receipt of each record of the digest.
  const checks = [];
  const genesis = await genesisExact();
  for (const r of evidence.records) {
    const all = await api.receiptsExact(r.tx_hash);
    const receipt = all.receipts[r.location.record_index];
    const result = receipt
      ? await runChecks(receipt, { suite: chain.suite, digest, genesis })
      : { ok: false, steps: [{ name: 'receipt', ok: false, detail: 'the node returned no receipt for this record' }] };
    checks.push({ record: r, result });
    if (signal.aborted) return;
  }
  const good = checks.filter((c) => c.result.ok === true);
  const partial = checks.filter((c) => c.result.ok === null);
  const first = checks[0].record;
  replace(
    out,
    section(
      'Result',
      good.length
        ? h('p', { class: 'result', dataset: { result: 'verified' } }, badge('Verified', 'ok'), ` Recorded at ${time(first.timestamp_ms)} in block ${num(first.location.height)}`)
        : partial.length
          ? verdictView(partial[0].result)
          : h('p', { class: 'result', dataset: { result: 'failed' } }, badge('Not verified', 'bad'), ' The receipt checks failed'),
      head,
      notice(
        good.length
          ? `This exact file was recorded on chain ${chain.chain_id} ${checks.length === 1 ? 'once' : `${num(checks.length)} times`}${evidence.records.length === CHECK_LIMIT ? ' or more' : ''}; its receipt proves it existed unchanged at that time.`
          : 'The chain lists this digest, but its receipts did not check out in this browser.',
        good.length ? 'ok' : 'error',
      ),
      h('p', {}, link(`evidence/${digest}`, 'Every record of this digest')),
    ),
    checks.map(({ record, result }, i) =>
      section(
        `Receipt ${i + 1}: block ${num(record.location.height)}`,
        verdictView(result),
        h('p', { class: 'recorded-by' }, 'Recorded by ', h('strong', {}, recordedBy(result.result?.signer, null))),
        h(
          'p',
          {},
          'Transaction ',
          hashLink(`tx/${record.tx_hash}`, record.tx_hash, 12),
          `, record ${record.location.record_index} · `,
          link(`receipt/${record.tx_hash}/${record.location.record_index}`, 'receipt page'),
        ),
        stepsView(result),
      ),
    ),
  );
}
