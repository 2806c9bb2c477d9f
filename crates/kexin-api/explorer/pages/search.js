// Search: a number is a block height; 0x and 40 hex characters a contract address; 64 hex
// characters are tried as a transaction hash, then a block hash, then an evidence digest;
// anything else is explained.

import { find } from '../api.js';
import { h, link, notice, replace } from '../dom.js';

/** What a query can be: {route} to go to, {lookup: hash} to resolve, or {invalid: message}. */
export function classify(raw) {
  if (/^0x[0-9a-fA-F]{40}$/.test(raw.trim())) return { route: `contract/${raw.trim().toLowerCase()}` };
  const q = raw.trim().replace(/^0x/i, '');
  if (q === '') return { invalid: 'Type a transaction hash, a block height, a block hash or a digest.' };
  if (/^\d+$/.test(q)) {
    if (q.length > 19) return { invalid: `“${raw.trim()}” is too large to be a block height.` };
    return { route: `block/${Number(q)}` };
  }
  if (/^[0-9a-fA-F]{64}$/.test(q)) return { lookup: q.toLowerCase() };
  if (/^[0-9a-fA-F]+$/.test(q)) {
    return { invalid: `“${raw.trim()}” has ${q.length} hexadecimal characters; hashes and digests have 64.` };
  }
  return { invalid: `“${raw.trim()}” is not a block height (a whole number) or a hash or digest (64 hexadecimal characters).` };
}

export async function render({ main, signal, navigate }, raw) {
  const c = classify(raw);
  if (c.route) return navigate(c.route, { replace: true });
  if (c.invalid) {
    replace(main, h('h1', {}, 'Search'), notice(c.invalid, 'error'), help());
    return;
  }
  const hash = c.lookup;
  if (await find(`/v1/transactions/${hash}/status`, { signal })) return navigate(`tx/${hash}`, { replace: true });
  if (await find(`/v1/blocks/${hash}`, { signal })) return navigate(`block/${hash}`, { replace: true });
  if (await find(`/v1/evidence/${hash}?limit=1`, { signal })) return navigate(`evidence/${hash}`, { replace: true });
  if (signal.aborted) return;
  replace(
    main,
    h('h1', {}, 'Not found'),
    h('div', { class: 'notice notice-error', role: 'alert', id: 'search-not-found' }, 'Nothing found for ', h('code', { class: 'break' }, hash), ': no transaction, block or evidence digest on this chain has that hash.'),
    help(),
  );
}

function help() {
  return h(
    'p',
    { class: 'muted' },
    'The search box takes a block height (e.g. 42), a transaction hash, a block hash or an evidence digest (64 hexadecimal characters), or a contract address (0x and 40). To check a file, use ',
    link('verify', 'Verify a file'),
    '.',
  );
}
