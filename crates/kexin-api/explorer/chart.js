// A small SVG line chart of two rates over time (transactions/s and records/s).

const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

/** Formats a rate: 0, 0.35, 4.2, 1,234. */
export function rate(x) {
  if (x === 0) return '0';
  if (x < 1) return x.toFixed(2);
  if (x < 10) return x.toFixed(1);
  return Math.round(x).toLocaleString('en-US');
}

/**
 * Draws `points` ([{t, tx, rec}], t in ms, rates per second) into a new SVG element of
 * `width` × `height` pixels (draw it at its container's width, and again when that changes).
 */
export function rateChart(points, { width = 600, height = 180, label = 'Rates' } = {}) {
  const pad = { l: 44, r: 10, t: 10, b: 22 };
  const w = width - pad.l - pad.r;
  const hgt = height - pad.t - pad.b;
  const root = svg('svg', {
    class: 'chart',
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': label,
  });
  root.append(svg('title', {}, label));
  const max = niceMax(Math.max(0, ...points.map((p) => Math.max(p.tx, p.rec))));
  const t0 = points.length ? points[0].t : 0;
  const t1 = points.length ? points[points.length - 1].t : 1;
  const x = (t) => pad.l + (t1 > t0 ? ((t - t0) / (t1 - t0)) * w : w);
  const y = (v) => pad.t + hgt - (v / max) * hgt;
  for (const frac of [0, 0.5, 1]) {
    const v = max * frac;
    root.append(svg('line', { class: 'axis', x1: pad.l, x2: pad.l + w, y1: y(v), y2: y(v) }));
    root.append(svg('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, rate(v)));
  }
  if (points.length) {
    const minutes = Math.round((t1 - t0) / 60000);
    root.append(svg('text', { x: pad.l, y: height - 6 }, minutes ? `${minutes} min ago` : ''));
    root.append(svg('text', { x: pad.l + w, y: height - 6, 'text-anchor': 'end' }, 'now'));
  }
  const line = (key) => points.map((p, i) => `${i ? 'L' : 'M'}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
  if (points.length > 1) {
    root.append(svg('path', { class: 'rec', d: line('rec') }));
    root.append(svg('path', { class: 'tx', d: line('tx') }));
  }
  return root;
}
