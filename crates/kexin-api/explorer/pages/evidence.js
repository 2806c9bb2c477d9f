// Evidence: every record of a digest, oldest first, each with its receipt.

import { api } from '../api.js';
import { h, hashLink, isHash, link, mono, notice, num, replace, section, table, time, hashName } from '../dom.js';
import { metadataView } from './tx.js';

export const PAGE = 1000;

export async function render({ main, signal }, digest) {
  if (!isHash(digest)) {
    replace(main, h('h1', {}, 'Invalid digest'), notice(`“${digest}” is not a digest (64 hexadecimal characters).`, 'error'));
    return;
  }
  digest = digest.toLowerCase();
  const [ev, chain] = await Promise.all([api.evidence(digest, PAGE), api.chain()]);
  if (signal.aborted) return;
  const records = ev.records;
  const first = records[0];

  replace(
    main,
    h('h1', {}, 'Evidence'),
    h('p', { class: 'subtitle' }, `${hashName(chain.suite)} digest `, mono(digest)),
    notice(
      records.length === 1
        ? `Recorded once, first at ${time(first.timestamp_ms)} in block ${num(first.location.height)}.`
        : `Recorded ${num(records.length)} times${records.length === PAGE ? ' (the first ' + PAGE + ' shown)' : ''}, first at ${time(first.timestamp_ms)} in block ${num(first.location.height)}.`,
      'ok',
    ),
    section(
      'Records',
      table(
        ['#', 'Time', 'Block', 'Transaction', 'Metadata', 'Receipt'],
        records.map((r, i) => [
          String(i + 1),
          time(r.timestamp_ms),
          link(`block/${r.location.height}`, num(r.location.height)),
          [hashLink(`tx/${r.tx_hash}`, r.tx_hash, 8), h('span', { class: 'muted' }, ` · record ${r.location.record_index}`)],
          metadataView(r.record),
          link(`receipt/${r.tx_hash}/${r.location.record_index}`, 'Receipt', { 'aria-label': `Receipt of record ${i + 1}` }),
        ]),
        { caption: 'Oldest first', hide: [1] },
      ),
    ),
  );
}
