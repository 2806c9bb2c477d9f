// QR Code encoder (ISO/IEC 18004), written from the standard, for receipt links in the explorer.
//
//   qrMatrix(text, {mask?, minVersion?}) -> {version, mask, size, modules: boolean[][]}
//       modules[row][col], true = dark. `text` is encoded as UTF-8 in byte mode with error
//       correction level M, in the smallest version 1..20 that holds it (up to 666 bytes);
//       the mask is the one with the lowest penalty score (all 8 tried) unless `mask` is given.
//       Throws RangeError when the text does not fit version 20.
//   qrSvg(text, {scale = 4, margin = 4}) -> string: an <svg> of one <path> of dark modules with a
//       quiet zone of `margin` (at least 4) modules. The SVG holds only numbers: the encoded text
//       never appears in it, so it is safe to insert as markup.
//   Internals exported for tests: rsRemainder(data, ecLen), formatBits(mask), versionBits(version),
//       penalty(modules), BLOCKS_M, isFunctionModule (via qrMatrix(...).functionModules).
//
// Limits: byte mode and level M only; no ECI, no structured append, no Kanji/alphanumeric modes.

// Level M block structure per version: [ecCodewordsPerBlock, blocks1, dataPerBlock1, blocks2,
// dataPerBlock2] (ISO/IEC 18004 Table 9).
export const BLOCKS_M = [
  null,
  [10, 1, 16, 0, 0], [16, 1, 28, 0, 0], [26, 1, 44, 0, 0], [18, 2, 32, 0, 0],
  [24, 2, 43, 0, 0], [16, 4, 27, 0, 0], [18, 4, 31, 0, 0], [22, 2, 38, 2, 39],
  [22, 3, 36, 2, 37], [26, 4, 43, 1, 44], [30, 1, 50, 4, 51], [22, 6, 36, 2, 37],
  [22, 8, 37, 1, 38], [24, 4, 40, 5, 41], [24, 5, 41, 5, 42], [28, 7, 45, 3, 46],
  [28, 10, 46, 1, 47], [26, 9, 43, 4, 44], [26, 3, 44, 11, 45], [26, 3, 41, 13, 42],
];
const MAX_VERSION = BLOCKS_M.length - 1;

const dataCodewords = (v) => {
  const [, b1, d1, b2, d2] = BLOCKS_M[v];
  return b1 * d1 + b2 * d2;
};

// --- GF(256), primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d) -------------------------
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255];
}
const gmul = (a, b) => (a === 0 || b === 0 ? 0 : EXP[LOG[a] + LOG[b]]);

/** Generator polynomial prod_{i<n} (x - a^i), coefficients highest degree first (monic). */
function generator(n) {
  let g = [1];
  for (let i = 0; i < n; i++) {
    const next = new Array(g.length + 1).fill(0);
    for (let j = 0; j < g.length; j++) {
      next[j] ^= g[j];
      next[j + 1] ^= gmul(g[j], EXP[i]);
    }
    g = next;
  }
  return g;
}

/** Reed–Solomon error correction codewords: data(x) * x^ecLen mod g(x). */
export function rsRemainder(data, ecLen) {
  const g = generator(ecLen);
  const rem = new Array(ecLen).fill(0);
  for (const d of data) {
    const factor = d ^ rem[0];
    rem.shift();
    rem.push(0);
    for (let j = 0; j < ecLen; j++) rem[j] ^= gmul(g[j + 1], factor);
  }
  return rem;
}

// --- BCH codes for format and version information --------------------------------------------
function bchRemainder(value, poly, polyDegree) {
  let v = value << polyDegree;
  for (let bit = 31; bit >= polyDegree; bit--) {
    if ((v >>> bit) & 1) v ^= poly << (bit - polyDegree);
  }
  return v;
}

/** The 15 format bits for level M (indicator 00) and `mask`, masked with 0x5412. */
export function formatBits(mask) {
  const data = (0b00 << 3) | mask;
  return ((data << 10) | bchRemainder(data, 0x537, 10)) ^ 0x5412;
}

/** The 18 version bits (versions 7 and up). */
export function versionBits(version) {
  return (version << 12) | bchRemainder(version, 0x1f25, 12);
}

// --- data codewords --------------------------------------------------------------------------
function encodeData(bytes, version) {
  const capacity = dataCodewords(version);
  const bits = [];
  const put = (value, n) => {
    for (let i = n - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  put(0b0100, 4); // byte mode
  put(bytes.length, version <= 9 ? 8 : 16);
  for (const b of bytes) put(b, 8);
  const total = capacity * 8;
  put(0, Math.min(4, total - bits.length)); // terminator
  while (bits.length % 8) bits.push(0);
  const out = [];
  for (let i = 0; i < bits.length; i += 8) {
    let b = 0;
    for (let j = 0; j < 8; j++) b = (b << 1) | bits[i + j];
    out.push(b);
  }
  for (let pad = 0xec; out.length < capacity; pad ^= 0xec ^ 0x11) out.push(pad);
  return out;
}

/** Splits into blocks, adds RS codewords, interleaves (ISO/IEC 18004 §7.6). */
function codewords(data, version) {
  const [ec, b1, d1, b2, d2] = BLOCKS_M[version];
  const blocks = [];
  let pos = 0;
  for (let i = 0; i < b1 + b2; i++) {
    const len = i < b1 ? d1 : d2;
    const d = data.slice(pos, pos + len);
    pos += len;
    blocks.push({ d, e: rsRemainder(d, ec) });
  }
  const out = [];
  for (let i = 0; i < Math.max(d1, d2); i++) for (const b of blocks) if (i < b.d.length) out.push(b.d[i]);
  for (let i = 0; i < ec; i++) for (const b of blocks) out.push(b.e[i]);
  return out;
}

// --- matrix ----------------------------------------------------------------------------------
function alignmentPositions(version) {
  if (version === 1) return [];
  const size = version * 4 + 17;
  const n = Math.floor(version / 7) + 2;
  const step = Math.ceil((size - 13) / (n * 2 - 2)) * 2;
  const pos = [];
  for (let i = 0; i < n - 1; i++) pos.unshift(size - 7 - i * step);
  return [6, ...pos];
}

function buildFunctionPatterns(version) {
  const size = version * 4 + 17;
  const m = Array.from({ length: size }, () => new Array(size).fill(false));
  const f = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (r, c, dark) => {
    m[r][c] = dark;
    f[r][c] = true;
  };
  // Timing patterns.
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  // Finder patterns with their separators.
  for (const [r0, c0] of [[0, 0], [0, size - 7], [size - 7, 0]]) {
    for (let dr = -1; dr <= 7; dr++) {
      for (let dc = -1; dc <= 7; dc++) {
        const r = r0 + dr, c = c0 + dc;
        if (r < 0 || c < 0 || r >= size || c >= size) continue;
        const ring = Math.max(Math.abs(dr - 3), Math.abs(dc - 3)); // 0..4 from the centre
        set(r, c, ring !== 2 && ring !== 4);
      }
    }
  }
  // Alignment patterns, except where they would overlap a finder pattern.
  const al = alignmentPositions(version);
  const last = al.length - 1;
  for (let i = 0; i <= last; i++) {
    for (let j = 0; j <= last; j++) {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) continue;
      for (let dr = -2; dr <= 2; dr++) {
        for (let dc = -2; dc <= 2; dc++) set(al[i] + dr, al[j] + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
      }
    }
  }
  // Reserve the format areas (written per mask), the dark module and version information.
  for (let i = 0; i < 9; i++) {
    f[8][i] = f[i][8] = true;
  }
  for (let i = 0; i < 8; i++) {
    f[8][size - 1 - i] = f[size - 1 - i][8] = true;
  }
  set(size - 8, 8, true);
  if (version >= 7) {
    const vb = versionBits(version);
    for (let i = 0; i < 18; i++) {
      const bit = ((vb >>> i) & 1) === 1;
      const a = size - 11 + (i % 3), b = Math.floor(i / 3);
      set(b, a, bit); // top right: rows 0..5
      set(a, b, bit); // bottom left: columns 0..5
    }
  }
  return { size, m, f };
}

function drawFormat(m, size, mask) {
  const bits = formatBits(mask);
  const bit = (i) => ((bits >>> i) & 1) === 1;
  // Around the top-left finder: bits 0..7 down column 8 (skipping the timing row), bits 8..14
  // leftwards along row 8 (skipping the timing column).
  for (let i = 0; i <= 5; i++) m[i][8] = bit(i);
  m[7][8] = bit(6);
  m[8][8] = bit(7);
  m[8][7] = bit(8);
  for (let i = 9; i < 15; i++) m[8][14 - i] = bit(i);
  // The copy: bits 0..7 along row 8 from the right edge, bits 8..14 down column 8 at the bottom.
  for (let i = 0; i < 8; i++) m[8][size - 1 - i] = bit(i);
  for (let i = 8; i < 15; i++) m[size - 15 + i][8] = bit(i);
}

const MASKS = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (r, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

/** Places the codeword bits in the two-column zigzag (ISO/IEC 18004 §7.7.3). */
function placeData(m, f, size, cws) {
  let i = 0;
  const nbits = cws.length * 8;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    const upward = ((size - 1 - right) >> 1) % 2 === 0;
    for (let v = 0; v < size; v++) {
      const r = upward ? size - 1 - v : v;
      for (let j = 0; j < 2; j++) {
        const c = right - j;
        if (f[r][c]) continue;
        m[r][c] = i < nbits && ((cws[i >> 3] >>> (7 - (i & 7))) & 1) === 1; // remainder bits: 0
        i++;
      }
    }
  }
}

/** Penalty score of a finished matrix (ISO/IEC 18004 §7.8.3, N1..N4 = 3, 3, 40, 10). */
export function penalty(m) {
  const size = m.length;
  let score = 0;
  const line = (get) => {
    // Rule 1: runs of five or more; rule 3: 1:1:3:1:1 finder-like pattern with 4 light modules.
    let s = 0, run = 1;
    for (let i = 1; i <= size; i++) {
      if (i < size && get(i) === get(i - 1)) run++;
      else {
        if (run >= 5) s += 3 + run - 5;
        run = 1;
      }
    }
    for (let i = 0; i + 11 <= size; i++) {
      const p = [];
      for (let k = 0; k < 11; k++) p.push(get(i + k) ? 1 : 0);
      const w = p.join('');
      if (w === '10111010000' || w === '00001011101') s += 40;
    }
    return s;
  };
  for (let r = 0; r < size; r++) score += line((c) => m[r][c]);
  for (let c = 0; c < size; c++) score += line((r) => m[r][c]);
  let dark = 0;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (m[r][c]) dark++;
      if (r + 1 < size && c + 1 < size) {
        const v = m[r][c];
        if (m[r][c + 1] === v && m[r + 1][c] === v && m[r + 1][c + 1] === v) score += 3;
      }
    }
  }
  const k = Math.floor(Math.abs((dark * 100) / (size * size) - 50) / 5);
  return score + 10 * k;
}

export function qrMatrix(text, opts = {}) {
  const bytes = new TextEncoder().encode(String(text));
  let version = Math.max(1, opts.minVersion || 1);
  // Byte mode header: 4 mode bits and an 8-bit (v1-9) or 16-bit (v10+) length.
  while (version <= MAX_VERSION && bytes.length + (version <= 9 ? 2 : 3) > dataCodewords(version)) version++;
  if (version > MAX_VERSION) {
    throw new RangeError(`text of ${bytes.length} bytes does not fit a version ${MAX_VERSION}-M QR code`);
  }
  const cws = codewords(encodeData(bytes, version), version);
  const { size, m: base, f } = buildFunctionPatterns(version);
  placeData(base, f, size, cws);
  const apply = (mask) => {
    const m = base.map((row) => row.slice());
    const fn = MASKS[mask];
    for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) if (!f[r][c] && fn(r, c)) m[r][c] = !m[r][c];
    drawFormat(m, size, mask);
    return m;
  };
  let best = null;
  const masks = opts.mask === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [opts.mask];
  for (const mask of masks) {
    if (!Number.isInteger(mask) || mask < 0 || mask > 7) throw new RangeError('mask must be 0..7');
    const modules = apply(mask);
    const p = penalty(modules);
    if (best === null || p < best.penalty) best = { version, mask, size, modules, penalty: p };
  }
  best.functionModules = f;
  return best;
}

export function qrSvg(text, opts = {}) {
  const { size, modules } = qrMatrix(text);
  const scale = Number(opts.scale ?? 4);
  const margin = Math.max(4, Math.floor(Number(opts.margin ?? 4)));
  if (!Number.isFinite(scale) || scale <= 0 || !Number.isFinite(margin)) throw new RangeError('bad scale or margin');
  const dim = size + 2 * margin;
  let d = '';
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) if (modules[r][c]) d += `M${c + margin} ${r + margin}h1v1h-1z`;
  }
  const px = dim * scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" viewBox="0 0 ${dim} ${dim}" shape-rendering="crispEdges">` +
    `<rect width="${dim}" height="${dim}" fill="#fff"/><path fill="#000" d="${d}"/></svg>`;
}
