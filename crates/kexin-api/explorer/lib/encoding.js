// Binary encodings of the Kexin objects a receipt verifier rebuilds and hashes
// (docs/formats.md §1.1, §2.4, §4.1–§4.9, §4.14, §6.2). Inputs are the parsed forms of lib/receipt.js:
// integers as BigInt, hashes/keys/signatures as Uint8Array, strings as JS strings (UTF-8 encoded
// here). Like the reference encoders, these trust their input (lengths are not range-checked).
//
//   encodeMetadata(m), encodeSummary(tx), encodeHeader(h), encodeValidator(v),
//   encodeEpochSet(set), encodeGenesis(g), encodeOutcome(o)     -> Uint8Array
//   signingInput(namespace, chainId, message)                   -> Uint8Array (§2.4)
//   finalizeSigningInput(chainId, epoch, view, parentView, blockHash) -> Uint8Array (§6.2)
//   keyTag(keyBytes)                                            -> 1 (SM2) | 2 (Ed25519) | 3 (P-256)

const utf8 = (s) => new TextEncoder().encode(s);

class Writer {
  constructor() {
    this.parts = [];
    this.n = 0;
  }
  bytes(b) {
    this.parts.push(b);
    this.n += b.length;
    return this;
  }
  u8(v) {
    return this.bytes(Uint8Array.of(Number(v) & 0xff));
  }
  u16(v) {
    v = Number(v);
    return this.bytes(Uint8Array.of((v >> 8) & 0xff, v & 0xff));
  }
  u32(v) {
    v = Number(v);
    return this.bytes(Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
  }
  u64(v) {
    const b = new Uint8Array(8);
    let x = BigInt(v);
    for (let i = 7; i >= 0; i--) {
      b[i] = Number(x & 0xffn);
      x >>= 8n;
    }
    return this.bytes(b);
  }
  str8(s) {
    const b = utf8(s);
    return this.u8(b.length).bytes(b);
  }
  str16(s) {
    const b = utf8(s);
    return this.u16(b.length).bytes(b);
  }
  key(k) {
    return this.u8(keyTag(k)).bytes(k);
  }
  done() {
    const out = new Uint8Array(this.n);
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }
}

export function keyTag(key) {
  return { 33: 1, 32: 2, 65: 3 }[key.length];
}

export function encodeMetadata(m) {
  const w = new Writer().bytes(m.salt).str8(m.contentType).str16(m.label);
  if (m.externalRef === null) w.u8(0);
  else w.u8(1).str16(m.externalRef);
  return w.done();
}

export function encodeSummary(tx) {
  const w = new Writer().u8(tx.version === undefined ? 3n : tx.version).str8(tx.chainId).key(tx.signer).u64(tx.nonce);
  if (tx.cert === null) w.u8(0);
  else w.u8(1).bytes(tx.cert);
  const p = tx.payload;
  if (p.type === 'evidence') w.u8(1).u32(p.recordCount).bytes(p.recordsRoot);
  else w.u8(p.kind).bytes(p.digest);
  return w.done();
}

/** §4.5: version 3 (the default when `h.version` is absent), or version 4 and later with
 * `outcomes_root` appended (all zero when the header has none, as the reference writes it). */
export function encodeHeader(h) {
  const version = h.version === undefined ? 3n : BigInt(h.version);
  const w = new Writer()
    .u8(version).u64(h.height).bytes(h.parentHash).u64(h.timestampMs).key(h.proposer)
    .u32(h.txCount).u64(h.logSize).bytes(h.logRoot).bytes(h.stateRoot).bytes(h.nextValidators);
  if (version >= 4n) w.bytes(h.outcomesRoot || new Uint8Array(32));
  return w.done();
}

/** Byte order of two strings' UTF-8 encodings (the order of the reference's BTreeMap keys). */
function byteOrder(a, b) {
  const x = utf8(a), y = utf8(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** §4.14: `u8 4 || u8 status || [str8 code || str16 message when failed] || u64 cost || u16 n
 * || n × (str8 module || str8 topic || u8 m || m × (str8 key || str16 value))`, attributes in
 * key byte order. `o.attributes` of each event: [key, value] pairs (any order) or an object. */
export function encodeOutcome(o) {
  const version = o.version === undefined ? 4n : BigInt(o.version);
  const w = new Writer().u8(version);
  if (o.status === 'success') w.u8(0);
  else w.u8(1).str8(o.code ?? '').str16(o.message ?? '');
  w.u64(o.cost).u16(o.events.length);
  for (const e of o.events) {
    const attrs = (Array.isArray(e.attributes) ? [...e.attributes] : Object.entries(e.attributes))
      .sort(([a], [b]) => byteOrder(a, b));
    w.str8(e.module).str8(e.topic).u8(attrs.length);
    for (const [k, v] of attrs) w.str8(k).str16(v);
  }
  // Version 5 appends gas used, return data and logs (§4.14).
  if (version >= 5n) {
    const ret = o.returnData ?? new Uint8Array(0);
    w.u64(o.gasUsed ?? 0n).u32(ret.length).bytes(ret).u16((o.logs ?? []).length);
    for (const l of o.logs ?? []) {
      w.bytes(l.address).u8(l.topics.length);
      for (const t of l.topics) w.bytes(t);
      w.u32(l.data.length).bytes(l.data);
    }
  }
  return w.done();
}

function writeValidator(w, v) {
  w.str8(v.name).str8(v.org).key(v.publicKey).str8(v.address);
}

export function encodeValidator(v) {
  const w = new Writer();
  writeValidator(w, v);
  return w.done();
}

export function encodeEpochSet(set) {
  const w = new Writer().u64(set.epoch).u32(set.validators.length);
  for (const v of set.validators) writeValidator(w, v);
  return w.done();
}

export function encodeGenesis(g) {
  const w = new Writer().u8(g.version === undefined ? 3n : g.version).str8(g.chainId).u8(g.suite === 'gm' ? 1 : 2).u64(g.timestampMs);
  w.u32(g.organisations.length);
  for (const o of g.organisations) {
    w.str8(o.name).u8(o.caCerts.length);
    for (const der of o.caCerts) w.u16(der.length).bytes(der);
  }
  w.u32(g.validators.length);
  for (const v of g.validators) writeValidator(w, v);
  return w.u64(g.epochLength).done();
}

export function signingInput(namespace, chainId, message) {
  return new Writer().str8(namespace).str8(chainId).bytes(message).done();
}

function varint(w, x) {
  x = BigInt(x);
  while (x >= 0x80n) {
    w.u8(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  return w.u8(Number(x));
}

export function finalizeSigningInput(chainId, epoch, view, parentView, blockHash) {
  const fns = utf8(`kexin/simplex/${chainId}_FINALIZE`);
  const w = new Writer();
  varint(w, fns.length).bytes(fns);
  varint(w, epoch);
  varint(w, view);
  varint(w, parentView);
  return w.bytes(blockHash).done();
}

export { utf8 };
