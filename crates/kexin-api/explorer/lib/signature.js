// Signature verification for receipts, by key scheme (docs/formats.md §2.2–§2.4).
//
//   keyScheme(keyBytes)       -> "ed25519" (32 bytes) | "sm2" (33) | "p256" (65) | null
//   suiteOfKey(keyBytes)      -> "intl" | "gm" | null
//   keyIsValid(keyBytes)      -> boolean: the point checks of §2.2 done in JS (Ed25519:
//                                decompresses, canonical, not of small order; SM2: decompresses;
//                                P-256: 0x04 prefix, coordinates < p, on the curve)
//   verifyRaw(key, message, sig) -> Promise<{ok: true} | {ok: false, reason} | {ok: null, reason}>
//
// Ed25519: the strict rules of ed25519-dalek verify_strict are checked here (S < L, neither
// R nor A of small order, A canonical), then the signature equation through WebCrypto
// (crypto.subtle Ed25519: Chromium 137+, Firefox 129+, Safari 17+, Node 20). SM2: lib/sm2.js,
// pure BigInt. ECDSA P-256 (intl transaction signers only): low-s rule here, then WebCrypto.
// Where WebCrypto or its Ed25519 support is missing (old browsers; pages not served from
// localhost or over HTTPS have no crypto.subtle), the result is {ok: null} with the reason.

import { sm2DecompressKey, sm2Verify, bytesToBig } from './sm2.js';

// --- Ed25519 point checks (BigInt), RFC 8032 §5.1.3 decoding --------------------------------
const EP = (1n << 255n) - 19n;
const ED = mod(-121665n * inv(121666n));
const SQRT_M1 = pow(2n, (EP - 1n) / 4n);
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

function mod(a) {
  const r = a % EP;
  return r < 0n ? r + EP : r;
}
function pow(b, e) {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % EP;
    b = (b * b) % EP;
    e >>= 1n;
  }
  return r;
}
function inv(a) {
  return pow(a, EP - 2n);
}
function leToBig(b) {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/** Decodes a 32-byte Ed25519 point: {x, y, canonical} or null if it is not a point. */
function edDecode(bytes) {
  const sign = bytes[31] >> 7;
  const y = leToBig(bytes) & ((1n << 255n) - 1n);
  const canonical = y < EP;
  const yy = mod(y * y);
  const u = mod(yy - 1n), v = mod(ED * yy + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (EP - 5n) / 8n));
  const vxx = mod(v * x * x);
  if (vxx === mod(-u)) x = mod(x * SQRT_M1);
  else if (vxx !== u) return null;
  if (x === 0n && sign === 1) return null; // "negative zero"
  if (Number(x & 1n) !== sign) x = mod(-x);
  return { x, y: mod(y), canonical };
}

/** Whether [8]P is the identity (extended coordinates, a = -1 doubling). */
function edSmallOrder({ x, y }) {
  let X = x, Y = y, Z = 1n;
  for (let i = 0; i < 3; i++) {
    const A = mod(X * X), B = mod(Y * Y), C = mod(2n * Z * Z);
    const E = mod((X + Y) * (X + Y) - A - B);
    const G = mod(B - A), F = mod(G - C), H = mod(-A - B);
    X = mod(E * F);
    Y = mod(G * H);
    Z = mod(F * G);
  }
  return X === 0n && Y === Z;
}

function ed25519KeyValid(key) {
  const p = edDecode(key);
  return p !== null && p.canonical && !edSmallOrder(p);
}

// --- P-256 --------------------------------------------------------------------------------
const PP = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const PB = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;
const PN = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

function p256KeyValid(key) {
  if (key[0] !== 4) return false;
  const x = bytesToBig(key.subarray(1, 33)), y = bytesToBig(key.subarray(33));
  if (x >= PP || y >= PP) return false;
  const lhs = (y * y) % PP;
  const rhs = (((x * x * x - 3n * x + PB) % PP) + PP) % PP;
  return lhs === rhs;
}

// --- dispatch -----------------------------------------------------------------------------
export function keyScheme(key) {
  return { 32: 'ed25519', 33: 'sm2', 65: 'p256' }[key.length] || null;
}

export function suiteOfKey(key) {
  return { ed25519: 'intl', sm2: 'gm', p256: 'intl' }[keyScheme(key)] || null;
}

export function keyIsValid(key) {
  switch (keyScheme(key)) {
    case 'ed25519': return ed25519KeyValid(key);
    case 'sm2': return sm2DecompressKey(key) !== null;
    case 'p256': return p256KeyValid(key);
    default: return false;
  }
}

const NO_SUBTLE =
  'this browser offers no WebCrypto here (crypto.subtle exists only on pages served over HTTPS or from localhost)';

async function webVerify(alg, importAlg, key, message, sig, name) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) return { ok: null, reason: `${name} not checked in the browser: ${NO_SUBTLE}` };
  let k;
  try {
    k = await subtle.importKey('raw', key, importAlg, false, ['verify']);
  } catch (e) {
    if (e && e.name === 'NotSupportedError') {
      return { ok: null, reason: `${name} not checked in the browser: this browser's WebCrypto has no ${name}` };
    }
    return { ok: false, reason: `the ${name} public key is not valid` };
  }
  try {
    return (await subtle.verify(alg, k, sig, message))
      ? { ok: true }
      : { ok: false, reason: `the ${name} signature does not verify` };
  } catch (e) {
    if (e && e.name === 'NotSupportedError') {
      return { ok: null, reason: `${name} not checked in the browser: this browser's WebCrypto has no ${name}` };
    }
    return { ok: false, reason: `the ${name} signature does not verify` };
  }
}

/** Verifies `sig` (64 bytes) by `key` over exactly `message` (the signing input). */
export async function verifyRaw(key, message, sig) {
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return { ok: false, reason: 'a signature is 64 bytes' };
  switch (keyScheme(key)) {
    case 'sm2':
      return sm2Verify(key, message, sig)
        ? { ok: true }
        : { ok: false, reason: 'the SM2 signature does not verify' };
    case 'ed25519': {
      if (!ed25519KeyValid(key)) return { ok: false, reason: 'the Ed25519 public key is not valid' };
      const R = edDecode(sig.subarray(0, 32));
      if (R === null || !R.canonical || edSmallOrder(R)) {
        return { ok: false, reason: 'the Ed25519 signature is not strictly valid (R)' };
      }
      if (leToBig(sig.subarray(32)) >= L) {
        return { ok: false, reason: 'the Ed25519 signature is not strictly valid (S is not below L)' };
      }
      return webVerify({ name: 'Ed25519' }, { name: 'Ed25519' }, key, message, sig, 'Ed25519');
    }
    case 'p256': {
      if (!p256KeyValid(key)) return { ok: false, reason: 'the P-256 public key is not valid' };
      const r = bytesToBig(sig.subarray(0, 32)), s = bytesToBig(sig.subarray(32));
      if (r < 1n || r >= PN || s < 1n || s > (PN - 1n) / 2n) {
        return { ok: false, reason: 'the P-256 signature is out of range (r, s, or s not low)' };
      }
      return webVerify({ name: 'ECDSA', hash: 'SHA-256' }, { name: 'ECDSA', namedCurve: 'P-256' },
        key, message, sig, 'ECDSA P-256');
    }
    default:
      return { ok: false, reason: 'unknown key scheme' };
  }
}
