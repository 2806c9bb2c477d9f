// SM3 cryptographic hash (GB/T 32905-2016), written from the standard.
//
//   sm3(bytes)                         -> Uint8Array(32), one shot
//   new Sm3().update(a).update(b).digest() -> Uint8Array(32), incremental (hash large files in
//                                         chunks, e.g. from file.stream(), without holding them)
//
// Pure JavaScript with 32-bit integer operations; no allocation per byte or per block.
// Limits: messages up to 2^53 bytes (see lib/md.js). Not constant-time (hashing public data).

import { MdHasher, stateBytes } from './md.js';

const IV = [
  0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600, 0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e,
];

// T_j <<< (j mod 32), precomputed: T_j = 0x79cc4519 for j < 16, 0x7a879d8a for 16 <= j < 64.
const TJ = new Int32Array(64);
for (let j = 0; j < 64; j++) {
  const t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
  const r = j % 32;
  TJ[j] = r === 0 ? t : (t << r) | (t >>> (32 - r));
}

const rotl = (x, n) => (x << n) | (x >>> (32 - n));

export class Sm3 extends MdHasher {
  constructor() {
    super();
    this.v = Int32Array.from(IV);
    this.w = new Int32Array(68); // message expansion W_0..W_67 (W'_j = W_j ^ W_{j+4})
  }

  compress(m, off) {
    const w = this.w;
    for (let j = 0; j < 16; j++) {
      const p = off + 4 * j;
      w[j] = (m[p] << 24) | (m[p + 1] << 16) | (m[p + 2] << 8) | m[p + 3];
    }
    for (let j = 16; j < 68; j++) {
      const x = w[j - 16] ^ w[j - 9] ^ rotl(w[j - 3], 15);
      // P1(x) = x ^ (x <<< 15) ^ (x <<< 23)
      w[j] = x ^ rotl(x, 15) ^ rotl(x, 23) ^ rotl(w[j - 13], 7) ^ w[j - 6];
    }
    const v = this.v;
    let a = v[0], b = v[1], c = v[2], d = v[3], e = v[4], f = v[5], g = v[6], h = v[7];
    for (let j = 0; j < 64; j++) {
      const a12 = rotl(a, 12);
      const ss1 = rotl((a12 + e + TJ[j]) | 0, 7);
      const ss2 = ss1 ^ a12;
      let ff, gg;
      if (j < 16) {
        ff = a ^ b ^ c;
        gg = e ^ f ^ g;
      } else {
        ff = (a & b) | (a & c) | (b & c);
        gg = (e & f) | (~e & g);
      }
      const tt1 = (ff + d + ss2 + (w[j] ^ w[j + 4])) | 0;
      const tt2 = (gg + h + ss1 + w[j]) | 0;
      d = c;
      c = rotl(b, 9);
      b = a;
      a = tt1;
      h = g;
      g = rotl(f, 19);
      f = e;
      // P0(x) = x ^ (x <<< 9) ^ (x <<< 17)
      e = tt2 ^ rotl(tt2, 9) ^ rotl(tt2, 17);
    }
    v[0] ^= a; v[1] ^= b; v[2] ^= c; v[3] ^= d;
    v[4] ^= e; v[5] ^= f; v[6] ^= g; v[7] ^= h;
  }

  output() {
    return stateBytes(this.v);
  }
}

/** SM3 of `bytes` (Uint8Array): a 32-byte Uint8Array. */
export function sm3(bytes) {
  return new Sm3().update(bytes).digest();
}
