// Suite hash dispatch and hex helpers for the explorer.
//
// A Kexin chain hashes with SM3 (suite "gm") or SHA-256 (suite "intl"), see docs/formats.md §2.
//
//   digest(suite, bytes)            -> Promise<Uint8Array(32)>  (SHA-256 through WebCrypto when
//                                      available, else the JS implementation; SM3 in JS)
//   hashBytes(suite, bytes)         -> Uint8Array(32), synchronous, pure JS (used by the verifier)
//   hasher(suite)                   -> {update(bytes) -> this, digest() -> Uint8Array(32)}
//   digestBlob(suite, blob, opts)   -> Promise<Uint8Array(32)>: hashes a File/Blob in slices
//                                      (opts.chunkSize, default 4 MiB; opts.onProgress(done, total))
//                                      so multi-hundred-MB files are never held whole
//   hashName(suite)                 -> "SM3" | "SHA-256"
//   toHex(bytes) -> lowercase hex;  fromHex(text, length?) -> Uint8Array, throws on bad hex
//
// Limits: unknown suites throw. WebCrypto is used only for one-shot SHA-256; incremental hashing
// is always JS (WebCrypto has no streaming digest).

import { Sm3, sm3 } from './sm3.js';
import { Sha256, sha256 } from './sha256.js';

const SUITES = { gm: 'SM3', intl: 'SHA-256' };

function checkSuite(suite) {
  if (!Object.prototype.hasOwnProperty.call(SUITES, suite)) {
    throw new Error(`unknown suite ${JSON.stringify(suite)} (expected "gm" or "intl")`);
  }
}

/** The hash function's name for a suite. */
export function hashName(suite) {
  checkSuite(suite);
  return SUITES[suite];
}

/** An incremental hasher of the suite's hash. */
export function hasher(suite) {
  checkSuite(suite);
  return suite === 'gm' ? new Sm3() : new Sha256();
}

/** The suite hash of `bytes`, synchronously (pure JS). */
export function hashBytes(suite, bytes) {
  checkSuite(suite);
  return suite === 'gm' ? sm3(bytes) : sha256(bytes);
}

/** The suite hash of `bytes`; SHA-256 goes through WebCrypto when the page has it. */
export async function digest(suite, bytes) {
  checkSuite(suite);
  if (!(bytes instanceof Uint8Array)) throw new TypeError('digest expects a Uint8Array');
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (suite === 'intl' && subtle) {
    return new Uint8Array(await subtle.digest('SHA-256', bytes));
  }
  return hashBytes(suite, bytes);
}

/** Hashes a Blob (or File) in slices, never holding more than one slice. */
export async function digestBlob(suite, blob, opts = {}) {
  const chunkSize = opts.chunkSize || 4 * 1024 * 1024;
  const h = hasher(suite);
  const total = blob.size;
  for (let off = 0; off < total; off += chunkSize) {
    const part = blob.slice(off, Math.min(off + chunkSize, total));
    h.update(new Uint8Array(await part.arrayBuffer()));
    if (opts.onProgress) opts.onProgress(Math.min(off + chunkSize, total), total);
  }
  return h.digest();
}

const HEX = '0123456789abcdef';

/** Lowercase hex of a Uint8Array. */
export function toHex(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

/**
 * Bytes of a hex string (either case). Throws on a non-string, an odd length, a character
 * outside [0-9a-fA-F], or, when `length` is given, a byte length other than `length`.
 */
export function fromHex(text, length) {
  if (typeof text !== 'string') throw new Error('hex must be a string');
  if (text.length % 2 !== 0) throw new Error('hex has an odd number of characters');
  if (!/^[0-9a-fA-F]*$/.test(text)) throw new Error('hex contains a character outside 0-9, a-f');
  const n = text.length / 2;
  if (length !== undefined && n !== length) {
    throw new Error(`expected ${length} bytes (${2 * length} hex characters), got ${n} bytes`);
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(text.substr(2 * i, 2), 16);
  return out;
}

/** Constant-shape equality of two byte arrays. */
export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
