// Reading receipt and genesis JSON (docs/formats.md §7, §8) into checked JavaScript values:
// u64/u32/u16 integers as BigInt, hex as Uint8Array of the exact length, keys checked as
// points (lib/signature.js keyIsValid). Accepts the JSON text (preferred: integers above 2^53
// stay exact, see lib/json.js) or an already parsed object (integers must then be safe).
//
//   parseReceipt(jsonOrObject)  -> receipt   (throws MalformedError, message names the field)
//   parseGenesis(jsonOrObject)  -> genesis   (throws MalformedError; also the §4.9 rules the
//                                             verifier relies on: suite, 1..=100 distinct keys of
//                                             the suite, epoch_length 4..=2^32, chain id syntax)
//   parseHeader, parseCertificate, parseEpochs, fromHexField: the pieces, for checkpoints.
//   parseOutcome: a version 5 receipt's `outcome` (null when absent); event attributes become
//                 [key, value] pairs in the JSON's order.

import { parseJsonExact } from './json.js';
import { fromHex } from './hash.js';
import { keyIsValid, suiteOfKey } from './signature.js';

export class MalformedError extends Error {}

const bad = (path, what) => {
  throw new MalformedError(`${path}: ${what}`);
};

function obj(v, path) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) bad(path, 'expected an object');
  return v;
}
function arr(v, path) {
  if (!Array.isArray(v)) bad(path, 'expected an array');
  return v;
}
function str(v, path) {
  if (typeof v !== 'string') bad(path, 'expected a string');
  return v;
}
function uint(v, path, bits) {
  let x;
  if (typeof v === 'bigint') x = v;
  else if (typeof v === 'number' && Number.isInteger(v)) {
    if (!Number.isSafeInteger(v)) bad(path, 'integer above 2^53 lost its precision: pass the JSON text');
    x = BigInt(v);
  } else bad(path, 'expected an integer');
  if (x < 0n || x >= 1n << BigInt(bits)) bad(path, `out of range for a u${bits}`);
  return x;
}
function hex(v, path, len) {
  str(v, path);
  try {
    return fromHex(v, len);
  } catch (e) {
    return bad(path, e.message);
  }
}
function key(v, path) {
  const k = hex(v, path);
  if (![32, 33, 65].includes(k.length)) bad(path, 'a public key is 64, 66 or 130 hex characters');
  if (!keyIsValid(k)) bad(path, 'not a valid public key');
  return k;
}
const hash = (v, path) => hex(v, path, 32);
const optStr = (v, path) => (v === undefined ? '' : str(v, path));

function proof(v, path) {
  obj(v, path);
  return {
    leafIndex: uint(v.leaf_index, `${path}.leaf_index`, 64),
    treeSize: uint(v.tree_size, `${path}.tree_size`, 64),
    path: arr(v.path, `${path}.path`).map((h, i) => hash(h, `${path}.path[${i}]`)),
  };
}

export function parseHeader(v, path = 'header') {
  obj(v, path);
  return {
    // The block's protocol version: omitted in JSON when 3; version 4 appends outcomes_root
    // (§4.5). Like the reference's JSON reader, any u8 is read; the hash decides.
    version: v.version === undefined ? 3n : uint(v.version, `${path}.version`, 8),
    height: uint(v.height, `${path}.height`, 64),
    parentHash: hash(v.parent_hash, `${path}.parent_hash`),
    timestampMs: uint(v.timestamp_ms, `${path}.timestamp_ms`, 64),
    proposer: key(v.proposer, `${path}.proposer`),
    txCount: uint(v.tx_count, `${path}.tx_count`, 32),
    logSize: uint(v.log_size, `${path}.log_size`, 64),
    logRoot: hash(v.log_root, `${path}.log_root`),
    stateRoot: hash(v.state_root, `${path}.state_root`),
    nextValidators:
      v.next_validators === undefined ? new Uint8Array(32) : hash(v.next_validators, `${path}.next_validators`),
    outcomesRoot:
      v.outcomes_root === undefined || v.outcomes_root === null ? null : hash(v.outcomes_root, `${path}.outcomes_root`),
  };
}

function signatures(v, path) {
  return arr(v, path).map((s, i) => {
    const p = `${path}[${i}]`;
    obj(s, p);
    return {
      validator: Number(uint(s.validator, `${p}.validator`, 16)),
      signature: hex(s.signature, `${p}.signature`, 64),
    };
  });
}

export function parseCertificate(v, path = 'certificate') {
  obj(v, path);
  switch (v.kind) {
    case 'signatures':
      return { kind: 'signatures', signatures: signatures(v.signatures, `${path}.signatures`) };
    case 'finalization':
      return {
        kind: 'finalization',
        epoch: uint(v.epoch, `${path}.epoch`, 64),
        view: uint(v.view, `${path}.view`, 64),
        parentView: uint(v.parent_view, `${path}.parent_view`, 64),
        signatures: signatures(v.signatures, `${path}.signatures`),
      };
    case 'ancestor':
      return {
        kind: 'ancestor',
        headers: arr(v.headers, `${path}.headers`).map((h, i) => parseHeader(h, `${path}.headers[${i}]`)),
        certificate: parseCertificate(v.certificate, `${path}.certificate`),
      };
    default:
      return bad(`${path}.kind`, 'expected "signatures", "finalization" or "ancestor"');
  }
}

function validator(v, path) {
  obj(v, path);
  return {
    name: str(v.name, `${path}.name`),
    org: optStr(v.org, `${path}.org`),
    publicKey: key(v.public_key, `${path}.public_key`),
    address: optStr(v.address, `${path}.address`),
  };
}

function metadata(v, path) {
  if (v === undefined || v === null || v === 'withheld') return null;
  if (typeof v === 'string') bad(path, 'expected an object or "withheld"');
  obj(v, path);
  return {
    salt: hex(v.salt, `${path}.salt`, 16),
    contentType: str(v.content_type, `${path}.content_type`),
    label: str(v.label, `${path}.label`),
    externalRef: v.external_ref === undefined || v.external_ref === null ? null : str(v.external_ref, `${path}.external_ref`),
  };
}

function payload(v, path) {
  obj(v, path);
  if (v.type === 'evidence') {
    return {
      type: 'evidence',
      recordCount: uint(v.record_count, `${path}.record_count`, 32),
      recordsRoot: hash(v.records_root, `${path}.records_root`),
    };
  }
  if (v.type === 'digest') {
    return { type: 'digest', kind: Number(uint(v.kind, `${path}.kind`, 8)), digest: hash(v.digest, `${path}.digest`) };
  }
  return bad(`${path}.type`, 'expected "evidence" or "digest"');
}

function load(input, what) {
  if (typeof input === 'string') {
    try {
      return parseJsonExact(input);
    } catch (e) {
      return bad(what, `not a JSON document (${e.message})`);
    }
  }
  return input;
}

export function parseEpochs(v) {
  if (v === undefined) return [];
  return arr(v, 'epochs').map((l, i) => {
    const p = `epochs[${i}]`;
    obj(l, p);
    obj(l.set, `${p}.set`);
    return {
      set: {
        epoch: uint(l.set.epoch, `${p}.set.epoch`, 64),
        validators: arr(l.set.validators, `${p}.set.validators`).map((x, j) => validator(x, `${p}.set.validators[${j}]`)),
      },
      header: parseHeader(l.header, `${p}.header`),
      certificate: parseCertificate(l.certificate, `${p}.certificate`),
    };
  });
}

export const fromHexField = (v, path) => hash(v, path);

/** Version 4's signer_cert (§8.3): the certificate DER and, when present, the CA-set proof. */
function signerCert(v, path = 'signer_cert') {
  if (v === undefined || v === null) return null;
  obj(v, path);
  const cert = hex(v.cert, `${path}.cert`);
  if (cert.length < 1 || cert.length > 4096) bad(`${path}.cert`, 'a certificate is 1..=4096 bytes of DER');
  let caSet = null;
  if (v.ca_set !== undefined && v.ca_set !== null) {
    const p = `${path}.ca_set`;
    obj(v.ca_set, p);
    const os = obj(v.ca_set.org_state, `${p}.org_state`);
    const org = obj(os.org, `${p}.org_state.org`);
    const pr = obj(v.ca_set.proof, `${p}.proof`);
    caSet = {
      orgState: {
        org: {
          name: str(org.name, `${p}.org_state.org.name`),
          caCerts: arr(org.ca_certs, `${p}.org_state.org.ca_certs`).map((c, j) => hex(c, `${p}.org_state.org.ca_certs[${j}]`)),
        },
        updatedAt: uint(os.updated_at, `${p}.org_state.updated_at`, 64),
      },
      proof: {
        siblings: arr(pr.siblings, `${p}.proof.siblings`).map((h, i) => hash(h, `${p}.proof.siblings[${i}]`)),
        leaf: pr.leaf === undefined || pr.leaf === null
          ? null
          : { key: hash(pr.leaf.key, `${p}.proof.leaf.key`), valueHash: hash(pr.leaf.value_hash, `${p}.proof.leaf.value_hash`) },
      },
      header: parseHeader(v.ca_set.header, `${p}.header`),
      certificate: parseCertificate(v.ca_set.certificate, `${p}.certificate`),
    };
  }
  return { cert, caSet };
}

/** Version 5's outcome (§4.11, §4.14): the Outcome's fields and its `proof`. Only the JSON
 * shapes are checked here; the limits are checked by the verifier (step 9a). */
export function parseOutcome(v, path = 'outcome') {
  if (v === undefined || v === null) return null;
  obj(v, path);
  const status = str(v.status, `${path}.status`);
  if (status !== 'success' && status !== 'failed') bad(`${path}.status`, 'expected "success" or "failed"');
  const optional = (x, p) => (x === undefined || x === null ? null : str(x, p));
  return {
    status,
    code: optional(v.code, `${path}.code`),
    message: optional(v.message, `${path}.message`),
    cost: uint(v.cost, `${path}.cost`, 64),
    events: (v.events === undefined ? [] : arr(v.events, `${path}.events`)).map((e, i) => {
      const p = `${path}.events[${i}]`;
      obj(e, p);
      const attrs = e.attributes === undefined ? {} : obj(e.attributes, `${p}.attributes`);
      return {
        module: str(e.module, `${p}.module`),
        topic: str(e.topic, `${p}.topic`),
        // [key, value] pairs; the encoder sorts them by key bytes, as the reference's map does.
        attributes: Object.keys(attrs).map((k) => [k, str(attrs[k], `${p}.attributes.${k}`)]),
      };
    }),
    // Version 5 (blocks of protocol version 5): gas, return data and logs; JSON omits the
    // version when 4 and the rest when empty.
    version: v.version === undefined ? 4n : uint(v.version, `${path}.version`, 8),
    gasUsed: v.gas_used === undefined ? 0n : uint(v.gas_used, `${path}.gas_used`, 64),
    returnData: v.return_data === undefined ? new Uint8Array(0) : hex0x(v.return_data, `${path}.return_data`),
    logs: (v.logs === undefined ? [] : arr(v.logs, `${path}.logs`)).map((l, i) => {
      const p = `${path}.logs[${i}]`;
      obj(l, p);
      return {
        address: hex0x(l.address, `${p}.address`, 20),
        topics: arr(l.topics, `${p}.topics`).map((t, j) => hash(t, `${p}.topics[${j}]`)),
        data: hex0x(l.data, `${p}.data`),
      };
    }),
    proof: proof(v.proof, `${path}.proof`),
  };
}

/** `0x` and hex (contract addresses and byte strings, formats.md §4.14). */
function hex0x(v, path, len) {
  str(v, path);
  if (!v.startsWith('0x')) bad(path, 'expected 0x and hex digits');
  return hex(v.slice(2), path, len);
}

export function parseReceipt(input) {
  const v = obj(load(input, 'receipt'), 'receipt');
  const suite = str(v.suite, 'suite');
  if (suite !== 'gm' && suite !== 'intl') bad('suite', 'expected "gm" or "intl"');
  obj(v.record, 'record');
  const t = obj(v.transaction, 'transaction');
  return {
    version: uint(v.version, 'version', 8),
    chainId: str(v.chain_id, 'chain_id'),
    suite,
    record: {
      digest: hash(v.record.digest, 'record.digest'),
      metadataHash: hash(v.record.metadata_hash, 'record.metadata_hash'),
      metadata: metadata(v.record.metadata, 'record.metadata'),
    },
    recordProof: proof(v.record_proof, 'record_proof'),
    transaction: {
      hash: hash(t.hash, 'transaction.hash'),
      // The transaction's format version (§4.3): omitted in JSON when 3.
      version: t.version === undefined ? 3n : uint(t.version, 'transaction.version', 8),
      chainId: str(t.chain_id, 'transaction.chain_id'),
      signer: key(t.signer, 'transaction.signer'),
      nonce: uint(t.nonce, 'transaction.nonce', 64),
      cert: t.cert === undefined || t.cert === null ? null : hash(t.cert, 'transaction.cert'),
      payload: payload(t.payload, 'transaction.payload'),
      signature: hex(t.signature, 'transaction.signature', 64),
    },
    logProof: proof(v.log_proof, 'log_proof'),
    blockHash: hash(v.block_hash, 'block_hash'),
    header: parseHeader(v.header),
    certificate: parseCertificate(v.certificate),
    epochs: parseEpochs(v.epochs),
    signerCert: signerCert(v.signer_cert),
    outcome: parseOutcome(v.outcome),
  };
}

export function parseGenesis(input) {
  const v = obj(load(input, 'genesis'), 'genesis');
  const version = uint(v.version, 'genesis.version', 8);
  if (version < 3n || version > 5n) bad('genesis.version', 'expected 3, 4 or 5 (the protocol version the chain starts at)');
  const chainId = str(v.chain_id, 'genesis.chain_id');
  if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(chainId)) bad('genesis.chain_id', 'not a valid chain id');
  const suite = str(v.suite, 'genesis.suite');
  if (suite !== 'gm' && suite !== 'intl') bad('genesis.suite', 'expected "gm" or "intl"');
  const organisations = (v.organisations === undefined ? [] : arr(v.organisations, 'genesis.organisations')).map((o, i) => {
    const p = `genesis.organisations[${i}]`;
    obj(o, p);
    return {
      name: str(o.name, `${p}.name`),
      caCerts: arr(o.ca_certs, `${p}.ca_certs`).map((c, j) => hex(c, `${p}.ca_certs[${j}]`)),
    };
  });
  const validators = arr(v.validators, 'genesis.validators').map((x, i) => validator(x, `genesis.validators[${i}]`));
  if (validators.length < 1 || validators.length > 100) bad('genesis.validators', 'a genesis has 1..=100 validators');
  const seen = new Set();
  validators.forEach((x, i) => {
    const scheme = x.publicKey.length;
    if (suiteOfKey(x.publicKey) !== suite || scheme === 65) bad(`genesis.validators[${i}].public_key`, `not a key of suite ${suite}`);
    const h = Array.from(x.publicKey).join(',');
    if (seen.has(h)) bad(`genesis.validators[${i}].public_key`, 'repeated key');
    seen.add(h);
  });
  const epochLength = v.epoch_length === undefined ? 1000n : uint(v.epoch_length, 'genesis.epoch_length', 64);
  if (epochLength < 4n || epochLength > 1n << 32n) bad('genesis.epoch_length', 'must be 4..=2^32');
  return {
    version,
    chainId,
    suite,
    timestampMs: uint(v.timestamp_ms, 'genesis.timestamp_ms', 64),
    organisations,
    validators,
    epochLength,
  };
}
