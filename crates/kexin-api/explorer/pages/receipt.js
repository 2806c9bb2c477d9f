// The receipt of one evidence record: the proof facts, the checks this browser ran, a QR code
// linking to this page, and a layout that prints on one sheet.

import { api, exactJson, genesisExact } from '../api.js';
import { badge, facts, h, hashLink, hashName, isHash, link, mono, notice, num, replace, section, timeEl } from '../dom.js';
import { offlineCommand, verifyEvidenceReceipt } from '../lib/receipt.js';
import { qrSvg } from '../lib/qr.js';
import { certState } from './block.js';
import { metadataView, outcomeView } from './tx.js';

export { offlineCommand };

/** Runs the browser's receipt checks; a verifier that throws counts as a failed check. */
export async function runChecks(receipt, { suite, digest, genesis }) {
  try {
    return await verifyEvidenceReceipt(receipt, { suite, digest, genesis });
  } catch (e) {
    return { ok: false, steps: [{ name: 'receipt', ok: false, detail: String(e.message || e) }] };
  }
}

/** The verifier's steps as a list: what passed, what failed, what the browser left out. */
export function stepsView(result, receiptFile = 'receipt.json') {
  return h(
    'ul',
    { class: 'steps' },
    result.steps.map((s) =>
      h(
        'li',
        { dataset: { step: s.name, ok: String(s.ok) } },
        h(
          'span',
          {},
          s.ok === true
            ? badge('passed', 'ok')
            : s.ok === false
              ? badge('failed', 'bad')
              : s.optional
                ? badge('not checked', 'plain')
                : badge('not checked here', 'warn'),
        ),
        h(
          'span',
          {},
          h('span', { class: 'name' }, s.name),
          h(
            'span',
            { class: 'detail' },
            ' — ',
            s.detail || '',
            s.ok === null && !s.optional ? [' Not checked in the browser; run ', h('code', {}, offlineCommand(receiptFile, { digest: result.result?.digest })), '.'] : null,
          ),
        ),
      ),
    ),
  );
}

/**
 * Who recorded it: the organisation, role and name of the signer's certificate a version 4
 * receipt carries (checked against the transaction's certificate id in this browser), else
 * what the node's certificate registry says (`cert`), else unknown.
 */
export function recordedBy(signer, cert) {
  if (signer) return `${signer.organisation} (${signer.role}${signer.name ? `, ${signer.name}` : ''}), from the certificate in the receipt`;
  if (cert) return `${cert.org} (${cert.role}, ${cert.name}), as this node's certificate registry says`;
  return 'not named (an open chain, or a receipt that does not carry the signer\'s certificate)';
}

/** The verdict in one line: `data-result` is verified, partial or failed. */
export function verdictView(result) {
  const [state, label, kind, text] =
    result.ok === true
      ? ['verified', 'Verified', 'ok', 'Every check passed in this browser.']
      : result.ok === null
        ? ['partial', 'Partly verified', 'warn', 'Every check this browser could run passed; the rest need kexin verify.']
        : ['failed', 'Not verified', 'bad', 'A check failed: do not rely on this receipt.'];
  return h('p', { class: 'result', dataset: { result: state } }, badge(label, kind), ' ', text);
}

/** The absolute URL of a receipt page (what the QR code holds). */
export function receiptUrl(tx, index) {
  return `${location.origin}/#/receipt/${tx}/${index}`;
}

/** An <img> of the QR code for `text` (an SVG data URL: the SVG is ours, the text is a URL). */
export function qrImage(text, alt) {
  const svg = qrSvg(text, { scale: 4, margin: 4 });
  const markup = typeof svg === 'string' ? svg : new XMLSerializer().serializeToString(svg);
  return h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(markup)}`, alt, width: 200, height: 200 });
}

export async function render({ main, signal }, tx, index) {
  if (!isHash(tx) || !/^\d{1,5}$/.test(index)) {
    replace(main, h('h1', {}, 'Invalid receipt address'), notice('A receipt address is #/receipt/<transaction hash>/<record index>.', 'error'));
    return;
  }
  tx = tx.toLowerCase();
  const i = Number(index);
  const [all, chain, genesis] = await Promise.all([api.receiptsExact(tx), api.chain(), genesisExact()]);
  if (signal.aborted) return;
  const receipt = all.receipts[i];
  if (!receipt) {
    replace(
      main,
      h('h1', {}, 'Not found'),
      notice(`Transaction ${tx} has ${all.receipts.length} evidence records; there is no record ${i}.`, 'error'),
      h('p', {}, link(`tx/${tx}`, 'The transaction')),
    );
    return;
  }
  const t = receipt.transaction;
  const hd = receipt.header;
  const digest = receipt.record.digest;
  const [cert, result] = await Promise.all([
    t.cert ? certState(t.cert) : null,
    runChecks(receipt, { suite: chain.suite, digest, genesis }),
  ]);
  if (signal.aborted) return;

  const url = receiptUrl(tx, i);
  const file = `${digest.slice(0, 16)}.receipt.json`;
  const blobUrl = URL.createObjectURL(new Blob([exactJson(receipt) + '\n'], { type: 'application/json' }));
  signal.addEventListener('abort', () => URL.revokeObjectURL(blobUrl));

  replace(
    main,
    h('h1', {}, 'Evidence receipt'),
    h('p', { class: 'subtitle' }, `Record ${i} of transaction `, hashLink(`tx/${tx}`, tx, 16), ` · chain ${receipt.chain_id}`),
    h(
      'div',
      { class: 'receipt-layout' },
      section(
        'Proof facts',
        facts([
          [`Digest (${hashName(receipt.suite)})`, link(`evidence/${digest}`, mono(digest))],
          ['Metadata', metadataView(receipt.record)],
          ['Metadata hash', mono(receipt.record.metadata_hash)],
          ['Recorded', timeEl(hd.timestamp_ms)],
          ['Block', [link(`block/${hd.height}`, num(hd.height)), ' · ', mono(receipt.block_hash)]],
          ['Transaction', mono(t.hash)],
          ['Recorded by', recordedBy(result.result?.signer, cert)],
          ['Signer', [cert ? `${cert.name} (${cert.role}) of ${cert.org} · ` : '', mono(t.signer)]],
          ['Record proof', `record ${receipt.record_proof.leaf_index} of ${receipt.record_proof.tree_size} in the transaction, ${receipt.record_proof.path.length} hashes`],
          ['Log proof', `transaction ${num(receipt.log_proof.leaf_index)} of ${num(receipt.log_proof.tree_size)} in the chain's log, ${receipt.log_proof.path.length} hashes`],
          ['Log root', mono(hd.log_root)],
          ['Certificate', `${receipt.certificate.kind}, epoch ${receipt.certificate.epoch}, ${receipt.certificate.signatures.length} validator signatures`],
          ['Genesis hash', mono(chain.genesis_hash)],
        ]),
      ),
      h(
        'section',
        { class: 'card qr', 'aria-labelledby': 'qr-title' },
        h('h2', { id: 'qr-title' }, 'Scan to check'),
        h('figure', { id: 'receipt-qr', class: 'qr-figure' }, qrImage(url, `QR code linking to this receipt: ${url}`), h('figcaption', {}, h('p', { class: 'mono' }, url))),
      ),
    ),
    result.result?.outcome
      ? section('Outcome', outcomeView(result.result.outcome, 'proven in this browser: the receipt\'s outcome proof leads to the block header\'s outcomes root'))
      : null,
    section(
      'Checked in this browser',
      verdictView(result),
      stepsView(result, file),
      h(
        'p',
        { class: 'muted' },
        'The genesis used here came from this node. For a check that trusts no node, save the receipt and run ',
        h('code', {}, offlineCommand(file, { digest })),
        ' with the genesis file you hold (its hash must be ',
        mono(chain.genesis_hash),
        ').',
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      h('a', { class: 'button', href: blobUrl, download: file }, 'Download receipt (JSON)'),
      h('button', { type: 'button', class: 'secondary', on: { click: () => window.print() } }, 'Print'),
      link(`evidence/${digest}`, 'All records of this digest', { class: 'button secondary' }),
    ),
  );
}
