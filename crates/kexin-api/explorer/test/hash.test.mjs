// SM3, SHA-256 and hex helpers (lib/sm3.js, lib/sha256.js, lib/hash.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sm3, Sm3 } from '../lib/sm3.js';
import { sha256, Sha256 } from '../lib/sha256.js';
import { digest, digestBlob, hashBytes, hasher, hashName, toHex, fromHex } from '../lib/hash.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const conformance = (suite) =>
  JSON.parse(readFileSync(`${repo}crates/kexin-types/tests/fixtures/conformance-v3-${suite}.json`, 'utf8'))
    .vectors;
const ascii = (s) => new TextEncoder().encode(s);

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}
function randomBytes(rand, n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rand() & 0xff;
  return b;
}

test('SM3: GB/T 32905-2016 example vectors', () => {
  // Example 1: "abc".
  assert.equal(toHex(sm3(ascii('abc'))),
    '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0');
  // Example 2: "abcd" x 16 (64 bytes, so padding takes a second block).
  assert.equal(toHex(sm3(ascii('abcd'.repeat(16)))),
    'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732');
});

test('SM3: conformance fixture vectors hash.empty_string and hash.abc', () => {
  const v = conformance('gm');
  assert.equal(toHex(sm3(new Uint8Array(0))), v['hash.empty_string']);
  assert.equal(toHex(sm3(ascii('abc'))), v['hash.abc']);
});

test('SHA-256: conformance fixture vectors and FIPS 180-4 examples', () => {
  const v = conformance('intl');
  assert.equal(toHex(sha256(new Uint8Array(0))), v['hash.empty_string']);
  assert.equal(toHex(sha256(ascii('abc'))), v['hash.abc']);
  assert.equal(toHex(sha256(ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
});

// 1 MiB with byte i = (7i + floor(i / 256)) mod 256; expected values computed once with
// `openssl dgst -sm3` and `sha256sum` (OpenSSL 3.0.19, coreutils) over the same bytes.
function mebibyte() {
  const b = new Uint8Array(1 << 20);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + (i >> 8)) & 0xff;
  return b;
}

test('SM3 and SHA-256 of a 1 MiB input match OpenSSL', () => {
  const b = mebibyte();
  assert.equal(toHex(sm3(b)), '6e54d41da5f657b40fa6920d4bd6682e50eaabad1d9896ecaefb01f7be97ced8');
  assert.equal(toHex(sha256(b)), '1f8647d4cd2f7594c35c413e582e01089c00929dd4239eddd5ded3d40f325d53');
});

test('incremental hashing equals one-shot on random chunkings (both hashes)', () => {
  const rand = prng(12345);
  for (const [Cls, oneShot] of [[Sm3, sm3], [Sha256, sha256]]) {
    for (let round = 0; round < 40; round++) {
      const n = rand() % 700;
      const data = randomBytes(rand, n);
      const h = new Cls();
      let pos = 0;
      while (pos < n) {
        const take = Math.min(n - pos, rand() % 130);
        h.update(data.subarray(pos, pos + take));
        pos += take;
      }
      assert.equal(toHex(h.digest()), toHex(oneShot(data)), `${Cls.name} round ${round} n=${n}`);
    }
  }
  // Block-boundary lengths around the padding limit (55, 56, 63, 64, 65 bytes).
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129]) {
    const data = randomBytes(rand, n);
    const h = new Sm3();
    for (const byte of data) h.update(Uint8Array.of(byte));
    assert.equal(toHex(h.digest()), toHex(sm3(data)), `byte-wise n=${n}`);
  }
});

test('a finalized hasher refuses further use', () => {
  const h = new Sm3();
  h.digest();
  assert.throws(() => h.update(new Uint8Array(1)));
  assert.throws(() => h.digest());
});

test('SHA-256 in JS equals WebCrypto on random inputs', async () => {
  const rand = prng(777);
  for (let round = 0; round < 50; round++) {
    const data = randomBytes(rand, rand() % 3000);
    const web = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
    assert.equal(toHex(sha256(data)), toHex(web), `round ${round}`);
  }
});

test('suite dispatch: digest, hashBytes, hasher, digestBlob', async () => {
  const data = ascii('kexin explorer');
  assert.equal(toHex(await digest('gm', data)), toHex(sm3(data)));
  assert.equal(toHex(await digest('intl', data)), toHex(sha256(data)));
  assert.equal(toHex(hashBytes('gm', data)), toHex(sm3(data)));
  assert.equal(toHex(hasher('intl').update(data).digest()), toHex(sha256(data)));
  assert.equal(hashName('gm'), 'SM3');
  assert.equal(hashName('intl'), 'SHA-256');
  await assert.rejects(digest('md5', data));
  assert.throws(() => hasher('GM'));
  const big = mebibyte();
  const seen = [];
  const d = await digestBlob('gm', new Blob([big]), { chunkSize: 300001, onProgress: (a, t) => seen.push([a, t]) });
  assert.equal(toHex(d), '6e54d41da5f657b40fa6920d4bd6682e50eaabad1d9896ecaefb01f7be97ced8');
  assert.deepEqual(seen.at(-1), [1 << 20, 1 << 20]);
  assert.equal(seen.length, 4);
});

test('hex helpers', () => {
  assert.equal(toHex(Uint8Array.of(0, 1, 0xab, 0xff)), '0001abff');
  assert.deepEqual(fromHex('0001ABff'), Uint8Array.of(0, 1, 0xab, 0xff));
  assert.deepEqual(fromHex(''), new Uint8Array(0));
  assert.throws(() => fromHex('abc'), /odd/);
  assert.throws(() => fromHex('zz'), /character/);
  assert.throws(() => fromHex('0x00'), /character/);
  assert.throws(() => fromHex(' 00'), /character/);
  assert.throws(() => fromHex('00', 2), /expected 2 bytes/);
  assert.throws(() => fromHex(12));
});
