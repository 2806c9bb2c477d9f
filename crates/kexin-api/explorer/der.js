// Just enough DER to show an X.509 certificate's subject and validity (for CA certificates,
// which the API gives as DER hex). Nothing here is used to decide trust.

function fromHex(hex) {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

/** Reads one TLV at `pos`: {tag, start (of the value), end}. */
function tlv(bytes, pos) {
  if (pos + 2 > bytes.length) throw new Error('truncated DER');
  const tag = bytes[pos];
  let len = bytes[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 4) throw new Error('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[start + i];
    start += n;
  }
  const end = start + len;
  if (end > bytes.length) throw new Error('truncated DER');
  return { tag, start, end };
}

function children(bytes, node) {
  const out = [];
  for (let p = node.start; p < node.end; ) {
    const c = tlv(bytes, p);
    out.push(c);
    p = c.end;
  }
  return out;
}

const text = (bytes, n) => new TextDecoder().decode(bytes.subarray(n.start, n.end));

function timeMs(bytes, n) {
  const s = text(bytes, n);
  // UTCTime YYMMDDHHMMSSZ (years 1950..2049) or GeneralizedTime YYYYMMDDHHMMSSZ.
  const full = n.tag === 0x17 ? (Number(s.slice(0, 2)) < 50 ? '20' : '19') + s : s;
  const [y, mo, d, hh, mm, ss] = [0, 4, 6, 8, 10, 12].map((i, k) => Number(full.slice(i, i + (k ? 2 : 4))));
  return Date.UTC(y, mo - 1, d, hh, mm, ss);
}

const OIDS = { '550403': 'CN', '55040a': 'O', '55040b': 'OU' };

function name(bytes, n) {
  const parts = {};
  for (const set of children(bytes, n)) {
    for (const attr of children(bytes, set)) {
      const [oid, value] = children(bytes, attr);
      const key = OIDS[Array.from(bytes.subarray(oid.start, oid.end), (b) => b.toString(16).padStart(2, '0')).join('')];
      if (key) parts[key] = text(bytes, value);
    }
  }
  return parts;
}

/** Subject, issuer and validity of a certificate given as DER hex; null if it does not parse. */
export function certInfo(hex) {
  try {
    const bytes = fromHex(hex);
    const cert = tlv(bytes, 0);
    const tbs = children(bytes, cert)[0];
    let f = children(bytes, tbs);
    if (f[0].tag === 0xa0) f = f.slice(1); // explicit version
    const [serial, , issuer, validity, subject] = f;
    const [nb, na] = children(bytes, validity);
    return {
      serial: Array.from(bytes.subarray(serial.start, serial.end), (b) => b.toString(16).padStart(2, '0')).join(''),
      issuer: name(bytes, issuer),
      subject: name(bytes, subject),
      notBeforeMs: timeMs(bytes, nb),
      notAfterMs: timeMs(bytes, na),
    };
  } catch {
    return null;
  }
}
