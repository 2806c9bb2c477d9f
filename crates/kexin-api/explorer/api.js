// The node's public REST API, same origin only.

import { parseJsonExact } from './lib/json.js';

/** An API answer that is not 2xx: `status`, and the body's `code` and `message`. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  get notFound() {
    return this.status === 404;
  }
}

/** GET `path` (under `/v1`), parsed JSON; throws ApiError. With `exact`, every integer is a
 * BigInt (receipts carry u64s that JSON.parse could round; the verifier wants them exact). */
export async function get(path, { signal, exact = false } = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `the node did not answer (${e.message})`);
  }
  if (response.ok && exact) return parseJsonExact(await response.text());
  return answer(response);
}

/** POST `body` (JSON) to `path` (under `/v1`), parsed JSON; throws ApiError. */
export async function post(path, body, { signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: 'POST',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `the node did not answer (${e.message})`);
  }
  return answer(response);
}

async function answer(response) {
  if (response.ok) return response.json();
  let code = 'http_' + response.status;
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && typeof body.code === 'string') code = body.code;
    if (body && typeof body.message === 'string') message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  throw new ApiError(response.status, code, message);
}

/** A contract's view `fn(args)` by its published ABI, answered decoded; a call that reverts
 * throws ApiError with code `contract_reverted` and the contract's reason. */
export async function view(address, fn, args = [], options = {}) {
  const r = await post(`/v1/contracts/${encodeURIComponent(address)}/query`, { function: fn, args: args.map(String) }, options);
  if (r.status !== 'success') throw new ApiError(200, r.code || 'failed', r.message || `${fn} failed`);
  return r.decoded;
}

/** Like `get`, but `null` on 404. */
export async function find(path, options) {
  try {
    return await get(path, options);
  } catch (e) {
    if (e instanceof ApiError && e.notFound) return null;
    throw e;
  }
}

const enc = encodeURIComponent;

/** JSON text of a value parsed with `exact`, its BigInts written as plain integers. */
export function exactJson(value) {
  const tag = `\u0000big${Math.random().toString(36).slice(2)}:`;
  const marked = JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `${tag}${v}` : v), 2);
  return marked.replaceAll(new RegExp(`"\\\\u0000${tag.slice(1)}(\\d+)"`, 'g'), '$1');
}

let genesisPromise = null;

/** The chain's genesis with exact integers, for the receipt verifier (once per page load). */
export function genesisExact() {
  if (!genesisPromise) {
    genesisPromise = get('/v1/chain', { exact: true })
      .then((c) => c.genesis)
      .catch((e) => {
        genesisPromise = null;
        throw e;
      });
  }
  return genesisPromise;
}

let chainPromise = null;

/** `GET /v1/chain`, fetched once per page load unless `fresh`. */
export function chain({ fresh = false } = {}) {
  if (fresh || !chainPromise) {
    chainPromise = get('/v1/chain').catch((e) => {
      chainPromise = null;
      throw e;
    });
  }
  return chainPromise;
}

export const api = {
  chain,
  health: () => get('/v1/health'),
  blocks: (limit = 10) => get(`/v1/blocks?limit=${limit}`),
  transactions: (limit = 10) => get(`/v1/transactions?limit=${limit}`),
  stats: (windowS = 300, bucketS = 10) => get(`/v1/stats?window_s=${windowS}&bucket_s=${bucketS}`),
  validators: () => get('/v1/validators'),
  block: (id) => get(`/v1/blocks/${enc(id)}`),
  tx: (hash) => get(`/v1/transactions/${enc(hash)}`),
  contract: (address) => get(`/v1/contracts/${enc(address)}`),
  contractTxs: (address, limit = 25) => get(`/v1/contracts/${enc(address)}/transactions?limit=${limit}`),
  contractEvents: (address, fromHeight, limit = 25) => get(`/v1/contracts/${enc(address)}/events?from_height=${fromHeight}&limit=${limit}`),
  contractEventsAt: (address, height, limit = 200) => get(`/v1/contracts/${enc(address)}/events?from_height=${height}&to_height=${height}&limit=${limit}`),
  named: (name) => get(`/v1/names/${enc(name)}`),
  txStatus: (hash) => get(`/v1/transactions/${enc(hash)}/status`),
  receipts: (hash) => get(`/v1/transactions/${enc(hash)}/receipts`),
  receiptsExact: (hash) => get(`/v1/transactions/${enc(hash)}/receipts`, { exact: true }),
  evidence: (digest, limit = 1000) => get(`/v1/evidence/${enc(digest)}?limit=${limit}`),
  orgs: () => get('/v1/orgs'),
  certs: (org) => get(org ? `/v1/certs?org=${enc(org)}` : '/v1/certs'),
  cert: (id) => get(`/v1/state/cert/${enc(id)}`),
  epoch: (n) => get(`/v1/epochs/${enc(n)}`),
  proposals: () => get('/v1/gov/proposals'),
  consortium: () => get('/v1/gov/consortium'),
};
