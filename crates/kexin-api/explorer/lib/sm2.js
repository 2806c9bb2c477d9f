// SM2 signature verification (GB/T 32918.2) over the SM2 recommended curve (GB/T 32918.5),
// with BigInt arithmetic, written from the standard and docs/formats.md §2.2–§2.4.
//
//   sm2DecompressKey(key33)              -> {x, y} (BigInt) | null  (0x02/0x03 || x; x < p;
//                                           x^3 + ax + b a square; anything else null)
//   sm2Za(point, id = "1234567812345678") -> Uint8Array(32): SM3(ENTL || ID || a || b || Gx || Gy || x || y)
//   sm2Verify(key33, message, sig64, id?) -> boolean: e = SM3(Z_A || message), r, s in [1, n-1],
//                                           t = r + s mod n != 0, (x1, y1) = [s]G + [t]P,
//                                           accept iff r == (e + x1) mod n
//
// Verification only (public data): not constant-time, no signing. About 10-30 ms per
// signature in a browser.

import { sm3 } from './sm3.js';
import { concat } from './merkle.js';

const P = 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn;
const A = 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn;
const B = 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n;
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;
const GX = 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n;
const GY = 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n;

const mod = (a, m = P) => {
  const r = a % m;
  return r < 0n ? r + m : r;
};

function powMod(b, e, m) {
  let r = 1n;
  b = mod(b, m);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

const inv = (a) => powMod(a, P - 2n, P);

export function bytesToBig(b) {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

export function bigToBytes(x, len = 32) {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

// Jacobian points [X, Y, Z]; Z = 0 is the point at infinity.
const INF = [1n, 1n, 0n];

function dbl([x, y, z]) {
  if (z === 0n || y === 0n) return INF;
  const yy = (y * y) % P;
  const s = (4n * x * yy) % P;
  const z2 = (z * z) % P;
  const m = mod(3n * x * x + A * z2 * z2);
  const x3 = mod(m * m - 2n * s);
  const y3 = mod(m * (s - x3) - 8n * yy * yy);
  const z3 = (2n * y * z) % P;
  return [x3, y3, z3];
}

function add(p1, p2) {
  if (p1[2] === 0n) return p2;
  if (p2[2] === 0n) return p1;
  const [x1, y1, z1] = p1;
  const [x2, y2, z2] = p2;
  const z1z1 = (z1 * z1) % P, z2z2 = (z2 * z2) % P;
  const u1 = (x1 * z2z2) % P, u2 = (x2 * z1z1) % P;
  const s1 = (y1 * z2 * z2z2) % P, s2 = (y2 * z1 * z1z1) % P;
  if (u1 === u2) return s1 === s2 ? dbl(p1) : INF;
  const h = mod(u2 - u1), r = mod(s2 - s1);
  const hh = (h * h) % P, hhh = (hh * h) % P;
  const x3 = mod(r * r - hhh - 2n * u1 * hh);
  const y3 = mod(r * (u1 * hh - x3) - s1 * hhh);
  const z3 = (h * z1 * z2) % P;
  return [x3, y3, z3];
}

/** [a]Q1 + [b]Q2 (Shamir's trick). */
function mul2(a, q1, b, q2) {
  const both = add(q1, q2);
  let acc = INF;
  const bits = Math.max(a.toString(2).length, b.toString(2).length);
  for (let i = bits - 1; i >= 0; i--) {
    acc = dbl(acc);
    const ba = (a >> BigInt(i)) & 1n, bb = (b >> BigInt(i)) & 1n;
    if (ba && bb) acc = add(acc, both);
    else if (ba) acc = add(acc, q1);
    else if (bb) acc = add(acc, q2);
  }
  return acc;
}

function affineX([x, , z]) {
  const zi = inv(z);
  return (x * zi * zi) % P;
}

export function sm2DecompressKey(key) {
  if (!(key instanceof Uint8Array) || key.length !== 33) return null;
  if (key[0] !== 2 && key[0] !== 3) return null;
  const x = bytesToBig(key.subarray(1));
  if (x >= P) return null;
  const rhs = mod(x * x * x + A * x + B);
  // P = 3 (mod 4): a square root is rhs^((P+1)/4), if rhs is a square.
  let y = powMod(rhs, (P + 1n) / 4n, P);
  if ((y * y) % P !== rhs) return null;
  if ((y & 1n) !== BigInt(key[0] & 1)) y = mod(-y);
  return { x, y };
}

export const SM2_DEFAULT_ID = new TextEncoder().encode('1234567812345678');

export function sm2Za(point, id = SM2_DEFAULT_ID) {
  const entl = id.length * 8;
  return sm3(concat([
    Uint8Array.of(entl >> 8, entl & 0xff), id,
    bigToBytes(A), bigToBytes(B), bigToBytes(GX), bigToBytes(GY),
    bigToBytes(point.x), bigToBytes(point.y),
  ]));
}

export function sm2Verify(key, message, sig, id = SM2_DEFAULT_ID) {
  const pt = sm2DecompressKey(key);
  if (!pt || !(sig instanceof Uint8Array) || sig.length !== 64) return false;
  const r = bytesToBig(sig.subarray(0, 32));
  const s = bytesToBig(sig.subarray(32));
  if (r < 1n || r >= N || s < 1n || s >= N) return false;
  const t = (r + s) % N;
  if (t === 0n) return false;
  const e = bytesToBig(sm3(concat([sm2Za(pt, id), message])));
  const q = mul2(s, [GX, GY, 1n], t, [pt.x, pt.y, 1n]);
  if (q[2] === 0n) return false;
  return (e + affineX(q)) % N === r;
}
