// Merkle–Damgård buffering shared by the SM3 and SHA-256 hashers (lib/sm3.js, lib/sha256.js).
//
// Both hashes use 64-byte blocks and the same padding: a 0x80 byte, zeros, and the message
// length in bits as a 64-bit big-endian integer. A subclass provides `compress(bytes, offset)`
// (one 64-byte block), `output()` (the 32-byte state) and its initial state.
// Limits: the message length is tracked as a JavaScript number, exact up to 2^53 bytes.

export class MdHasher {
  constructor() {
    this.block = new Uint8Array(64); // pending partial block
    this.used = 0; // bytes pending in `block`
    this.length = 0; // total bytes hashed so far
    this.done = false;
  }

  /** Feeds `bytes` (a Uint8Array); returns `this` so calls can be chained. */
  update(bytes) {
    if (this.done) throw new Error('hasher already finalized');
    if (!(bytes instanceof Uint8Array)) throw new TypeError('update expects a Uint8Array');
    let pos = 0;
    const n = bytes.length;
    this.length += n;
    if (this.used > 0) {
      const take = Math.min(64 - this.used, n);
      this.block.set(bytes.subarray(0, take), this.used);
      this.used += take;
      pos = take;
      if (this.used < 64) return this;
      this.compress(this.block, 0);
      this.used = 0;
    }
    while (n - pos >= 64) {
      this.compress(bytes, pos);
      pos += 64;
    }
    if (pos < n) {
      this.block.set(bytes.subarray(pos), 0);
      this.used = n - pos;
    }
    return this;
  }

  /** Pads, finishes and returns the 32-byte digest. The hasher cannot be used afterwards. */
  digest() {
    if (this.done) throw new Error('hasher already finalized');
    this.done = true;
    const b = this.block;
    b[this.used++] = 0x80;
    if (this.used > 56) {
      b.fill(0, this.used);
      this.compress(b, 0);
      this.used = 0;
    }
    b.fill(0, this.used, 56);
    // Bit length as u64 big-endian: hi = floor(bytes / 2^29), lo = (bytes mod 2^29) * 8.
    const hi = Math.floor(this.length / 0x20000000);
    const lo = (this.length % 0x20000000) * 8;
    writeU32(b, 56, hi);
    writeU32(b, 60, lo);
    this.compress(b, 0);
    return this.output();
  }
}

export function writeU32(out, off, v) {
  out[off] = v >>> 24;
  out[off + 1] = (v >>> 16) & 0xff;
  out[off + 2] = (v >>> 8) & 0xff;
  out[off + 3] = v & 0xff;
}

/** Writes the eight 32-bit words of `state` big-endian into a new 32-byte array. */
export function stateBytes(state) {
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) writeU32(out, 4 * i, state[i]);
  return out;
}
