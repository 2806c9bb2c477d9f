// Unit tests (node:test) of the explorer's own page logic that needs no browser: search
// classification, throughput rates, chart scale, quorum, certificate DER reading, exact JSON.
//
//   node --test tests/browser/pages.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../crates/kexin-api/explorer/pages/search.js';
import { rates } from '../../crates/kexin-api/explorer/pages/dashboard.js';
import { quorum } from '../../crates/kexin-api/explorer/pages/block.js';
import { niceMax, rate } from '../../crates/kexin-api/explorer/chart.js';
import { certInfo } from '../../crates/kexin-api/explorer/der.js';
import { exactJson } from '../../crates/kexin-api/explorer/api.js';
import { parseJsonExact } from '../../crates/kexin-api/explorer/lib/json.js';
import { dateOf, money } from '../../crates/kexin-api/explorer/pages/receivable.js';

const HASH = 'ab'.repeat(32);

test('search: heights, hashes and what is refused', () => {
  assert.deepEqual(classify('42'), { route: 'block/42' });
  assert.deepEqual(classify(' 007 '), { route: 'block/7' });
  assert.deepEqual(classify(HASH.toUpperCase()), { lookup: HASH });
  assert.deepEqual(classify(`0x${HASH}`), { lookup: HASH });
  assert.match(classify('').invalid, /Type a transaction hash/);
  assert.match(classify('abc').invalid, /3 hexadecimal characters; hashes and digests have 64/);
  assert.match(classify('<script>').invalid, /is not a block height/);
  assert.match(classify('99999999999999999999').invalid, /too large/);
  assert.match(classify(`${HASH}0`).invalid, /65 hexadecimal/);
});

test('rates: per-second figures from counts, the partial bucket left out of the chart', () => {
  const now = 1_000_000;
  const stats = {
    now_ms: now,
    bucket_s: 10,
    buckets: [
      { start_ms: now - 70_000, blocks: 1, transactions: 100, records: 1000 },
      { start_ms: now - 60_000, blocks: 1, transactions: 10, records: 20 },
      { start_ms: now - 10_000, blocks: 1, transactions: 30, records: 60 },
      { start_ms: now - 2_000, blocks: 1, transactions: 5, records: 5 },
    ],
  };
  const r = rates(stats);
  assert.equal(r.points.length, 3);
  assert.deepEqual(r.points[0], { t: now - 60_000, tx: 10, rec: 100 });
  // last minute: buckets from now - 60 s: 45 transactions, 85 records in 60 s
  assert.equal(r.tx, 45 / 60);
  assert.equal(r.rec, 85 / 60);
  assert.deepEqual(rates({ now_ms: now, bucket_s: 10, buckets: [] }), { points: [], tx: 0, rec: 0 });
});

test('chart scale and rate formatting', () => {
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(0.3), 0.5);
  assert.equal(niceMax(7), 10);
  assert.equal(niceMax(12), 20);
  assert.equal(niceMax(4200), 5000);
  assert.equal(rate(0), '0');
  assert.equal(rate(0.25), '0.25');
  assert.equal(rate(4.24), '4.2');
  assert.equal(rate(12345), '12,345');
});

test('quorum of n validators', () => {
  assert.deepEqual([1, 4, 5, 7, 10].map(quorum), [1, 3, 4, 5, 7]);
});

test('certificate DER: subject and validity; garbage gives null', () => {
  // org1's CA of a `kexin net up` consortium (SM2), valid 2026-11-22 .. 2036-11-19.
  const der =
    '3082019e30820144a00302010202082cb000cccddd43a5300a06082a811ccf550183753021310d300b060355040a0c046f7267313110300e06035504030c076f726731204341301e170d3236313132323230323134315a170d3336313131393230323634315a3021310d300b060355040a0c046f7267313110300e06035504030c076f7267312043413059301306072a8648ce3d020106082a811ccf5501822d034200049d28decdefc530c5215c6c94d9583f6bf916ede40ca91d406186d7ac1331d17da51e8940e11bed9154b4bf980818d3dc2c5a0399b34d24a3e2dbd1162f1c7f19a366306430120603551d130101ff040830060101ff020100300e0603551d0f0101ff040403020106301d0603551d0e041604142e5ad2642ec8b4e1588217f32fdbc2637a6442cd301f0603551d230418301680142e5ad2642ec8b4e1588217f32fdbc2637a6442cd300a06082a811ccf5501837503480030450220261a38eb6692cc89d5d5b62632068535bdfb6c52f13df93c05c158e083ffe4c4022100bbefb7ce0ec0a89a55ec1727dd8d90e84314f4d0d415bda5c7fa03f0e497f75d';
  const info = certInfo(der);
  assert.deepEqual(info.subject, { O: 'org1', CN: 'org1 CA' });
  assert.equal(info.serial, '2cb000cccddd43a5');
  assert.equal(new Date(info.notBeforeMs).toISOString(), '2026-11-22T20:21:41.000Z');
  assert.equal(new Date(info.notAfterMs).toISOString(), '2036-11-19T20:26:41.000Z');
  assert.equal(certInfo('3082'), null);
  assert.equal(certInfo('zz'), null);
});

test('exact JSON round trip keeps u64s and strings that look like markers', () => {
  const text = '{"a":18446744073709551615,"b":[1,"\\u0000big:5"],"c":1.5,"d":"x"}';
  const back = exactJson(parseJsonExact(text));
  assert.deepEqual(JSON.parse(back.replace('18446744073709551615', '0')), { a: 0, b: [1, '\u0000big:5'], c: 1.5, d: 'x' });
  assert.match(back, /"a": 18446744073709551615/);
});

test('receivables: amounts in major units where known, dates in UTC', () => {
  assert.equal(money('100000', 'CNY'), '1,000.00 CNY');
  assert.equal(money('5', 'USD'), '0.05 USD');
  assert.equal(money('340282366920938463463374607431768211455', 'CNY'), '3,402,823,669,209,384,634,633,746,074,317,682,114.55 CNY');
  assert.equal(money('1200', 'JPY'), '1,200 JPY (minor units)');
  assert.equal(dateOf('1782777600'), '2026-06-30');
  assert.equal(dateOf('1782777645'), '2026-06-30 00:00:45 UTC');
  assert.equal(dateOf('0'), '—');
});
