// QR encoder (lib/qr.js): known answers from ISO/IEC 18004 and from qrencode, and structure.
// During development every matrix of versions 1-20 (133 texts, all 8 masks) was also decoded
// with jsQR and compared with qrencode module for module; the browser decode test is the UI's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { qrMatrix, qrSvg, rsRemainder, formatBits, versionBits, BLOCKS_M, penalty } from '../lib/qr.js';

const here = fileURLToPath(new URL('./fixtures/', import.meta.url));
const known = JSON.parse(readFileSync(`${here}qr-qrencode.json`, 'utf8')).cases;
const rows = (m) => m.map((r) => r.map((v) => (v ? '1' : '0')).join(''));

test('Reed-Solomon: the ISO/IEC 18004 annex example (1-M, "01234567")', () => {
  const data = [0x10, 0x20, 0x0c, 0x56, 0x61, 0x80, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11, 0xec, 0x11];
  assert.deepEqual(rsRemainder(data, 10), [0xa5, 0x24, 0xd4, 0xc1, 0xed, 0x36, 0xc7, 0x87, 0x2c, 0x55]);
  // A codeword (data || remainder) is divisible by the generator: its own remainder is zero.
  assert.deepEqual(rsRemainder([...data, ...rsRemainder(data, 10)], 10), new Array(10).fill(0));
});

test('format and version information BCH codes', () => {
  const table = ['101010000010010', '101000100100101', '101111001111100', '101101101001011',
    '100010111111001', '100000011001110', '100111110010111', '100101010100000'];
  for (let mask = 0; mask < 8; mask++) assert.equal(formatBits(mask).toString(2).padStart(15, '0'), table[mask]);
  assert.equal(versionBits(7), 0x07c94);
  assert.equal(versionBits(10), 0x0a4d3);
  assert.equal(versionBits(20), 0x149a6); // as qrencode 4.1.1 draws it
});

test('block table: codewords fill exactly the data area of each version', () => {
  for (let v = 1; v < BLOCKS_M.length; v++) {
    const { size, functionModules } = qrMatrix('x', { minVersion: v, mask: 0 });
    assert.equal(size, 4 * v + 17);
    let free = 0;
    for (const r of functionModules) for (const f of r) if (!f) free++;
    const [ec, b1, d1, b2, d2] = BLOCKS_M[v];
    assert.equal(Math.floor(free / 8), (b1 + b2) * ec + b1 * d1 + b2 * d2, `version ${v}`);
    assert.ok(free % 8 === [0, 0, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3][v], `remainder bits of version ${v}`);
  }
});

test('matrices equal qrencode for the same version and mask', () => {
  for (const k of known) {
    const q = qrMatrix(k.text, { mask: k.mask });
    assert.equal(q.version, k.version, k.text);
    assert.deepEqual(rows(q.modules), k.rows, k.text);
    // And a different mask gives a different matrix (the comparison can fail).
    assert.notDeepEqual(rows(qrMatrix(k.text, { mask: (k.mask + 1) % 8 }).modules), k.rows);
  }
});

test('automatic version: the smallest that holds the bytes (byte mode, level M)', () => {
  const caps = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666];
  caps.forEach((cap, i) => {
    assert.equal(qrMatrix('a'.repeat(cap)).version, i + 1, `${cap} bytes`);
    if (i + 2 <= caps.length) assert.equal(qrMatrix('a'.repeat(cap + 1)).version, i + 2, `${cap + 1} bytes`);
  });
  assert.throws(() => qrMatrix('a'.repeat(667)), RangeError);
  assert.equal(qrMatrix('é'.repeat(7)).version, 1); // 14 UTF-8 bytes
  assert.equal(qrMatrix('é'.repeat(8)).version, 2);
});

function formatFromCopy(m, which) {
  const n = m.length;
  let bits = 0;
  if (which === 0) {
    for (let i = 0; i <= 5; i++) bits |= m[i][8] << i;
    bits |= m[7][8] << 6 | m[8][8] << 7 | m[8][7] << 8;
    for (let i = 9; i < 15; i++) bits |= m[8][14 - i] << i;
  } else {
    for (let i = 0; i < 8; i++) bits |= m[8][n - 1 - i] << i;
    for (let i = 8; i < 15; i++) bits |= m[n - 15 + i][8] << i;
  }
  return bits;
}

test('structure: finders, separators, timing, dark module, format and version information', () => {
  for (const text of ['k', 'x'.repeat(100), 'y'.repeat(200), 'z'.repeat(600)]) {
    const { size, modules: m, mask, version } = qrMatrix(text);
    const n = size;
    for (const [r0, c0] of [[0, 0], [0, n - 7], [n - 7, 0]]) {
      for (let dr = 0; dr < 7; dr++) {
        for (let dc = 0; dc < 7; dc++) {
          const ring = Math.max(Math.abs(dr - 3), Math.abs(dc - 3));
          assert.equal(m[r0 + dr][c0 + dc], ring !== 2, `finder ${r0},${c0} +${dr},${dc}`);
        }
      }
    }
    for (let i = 0; i < 8; i++) {
      assert.equal(m[7][i], false); assert.equal(m[i][7], false); // separators
      assert.equal(m[7][n - 1 - i], false); assert.equal(m[n - 8][i], false);
    }
    for (let i = 8; i < n - 8; i++) {
      assert.equal(m[6][i], i % 2 === 0, `timing row ${i}`);
      assert.equal(m[i][6], i % 2 === 0, `timing column ${i}`);
    }
    assert.equal(m[n - 8][8], true, 'dark module');
    const f0 = formatFromCopy(m, 0), f1 = formatFromCopy(m, 1);
    assert.equal(f0, f1, 'both format copies agree');
    assert.equal(f0, formatBits(mask));
    const d = (f0 ^ 0x5412) >> 10;
    assert.equal(d >> 3, 0, 'level M');
    if (version >= 7) {
      let a = 0, b = 0;
      for (let i = 0; i < 18; i++) {
        a |= m[Math.floor(i / 3)][n - 11 + (i % 3)] << i;
        b |= m[n - 11 + (i % 3)][Math.floor(i / 3)] << i;
      }
      assert.equal(a, versionBits(version));
      assert.equal(b, versionBits(version));
    }
    // The chosen mask has the lowest penalty of the eight (ties: the lowest number).
    const scores = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => penalty(qrMatrix(text, { mask: k }).modules));
    assert.equal(mask, scores.indexOf(Math.min(...scores)));
  }
});

test('penalty rules on small matrices', () => {
  const all = (v) => Array.from({ length: 5 }, () => new Array(5).fill(v));
  // 5x5 all dark: 10 runs of 5 (3 each), 16 2x2 blocks (3 each), 100% dark (k = 10).
  assert.equal(penalty(all(true)), 10 * 3 + 16 * 3 + 100);
  const checker = Array.from({ length: 5 }, (_, r) => Array.from({ length: 5 }, (_, c) => (r + c) % 2 === 0));
  assert.equal(penalty(checker), 0 + 0 + 10 * Math.floor(Math.abs(1300 / 25 - 50) / 5));
  const finderLike = [[true, false, true, true, true, false, true, false, false, false, false]];
  assert.ok(penalty(Array.from({ length: 11 }, (_, r) => (r === 0 ? finderLike[0] : new Array(11).fill(r % 2 === 0 ? false : true)))) >= 40);
});

test('SVG: quiet zone of 4 modules, only numbers, never the text', () => {
  const text = '"><script>alert(1)</script><a href="javascript:x">&amp;';
  const svg = qrSvg(text, { scale: 3, margin: 1 });
  const { size, modules } = qrMatrix(text);
  const dim = size + 8;
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.includes(`viewBox="0 0 ${dim} ${dim}"`));
  assert.ok(svg.includes(`width="${dim * 3}"`));
  assert.ok(!svg.includes('script') && !svg.includes('alert') && !svg.includes('javascript'));
  const d = /<path fill="#000" d="([^"]*)"\/>/.exec(svg)[1];
  assert.match(d, /^(M\d+ \d+h1v1h-1z)*$/);
  const cells = [...d.matchAll(/M(\d+) (\d+)/g)].map(([, x, y]) => [Number(x), Number(y)]);
  let dark = 0;
  for (const r of modules) for (const v of r) if (v) dark++;
  assert.equal(cells.length, dark);
  for (const [x, y] of cells) {
    assert.ok(x >= 4 && y >= 4 && x < size + 4 && y < size + 4);
    assert.equal(modules[y - 4][x - 4], true);
  }
  assert.ok(qrSvg('a', { margin: 6 }).includes('viewBox="0 0 33 33"'));
  assert.throws(() => qrSvg('a', { scale: 'x' }));
  assert.throws(() => qrSvg('a', { scale: -1 }));
});
