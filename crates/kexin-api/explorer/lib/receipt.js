// Offline verification of a Kexin evidence receipt in the browser (docs/formats.md §9), step by
// step, in the order of the reference verifier (crates/kexin-types/src/receipt.rs), so the first
// failing step carries the same error code as `kexin verify`.
//
//   verifyEvidenceReceipt(receipt, {genesis?, suite?, digest?})
//       -> Promise<{ok: true | false | null, code: string | null, steps: Step[], result}>
//     receipt: the receipt JSON text (preferred: exact u64s) or a parsed object
//     genesis: the chain's genesis JSON text or object, obtained out of band (without it the
//              chain id and the validators' certificate cannot be checked: those steps are
//              reported with ok: null)
//     suite:   "gm" | "intl", the suite the caller expects (optional; must match)
//     digest:  Uint8Array(32) | hex string, the suite hash of the data the user holds (optional;
//              step 0 of §9)
//   Step = {name, ok: true | false | null, detail, code?, optional?}
//     names, in order: parse, genesis, chain, suite, version (receipt versions 3 to 5),
//     digest, signer_cert (versions 4 and 5 on a chain with organisations), metadata,
//     record_proof, tx_hash, tx_signature, log_proof, block_hash, outcome (§9 step 9a: the
//     receipt version matches the block's, 5 for a header of version 4 and 3 or 4 for one of
//     version 3; a version 5 receipt proves the transaction's outcome against the header's
//     outcomes_root, and a record receipt needs a success), epochs, certificate, proposer,
//     and signer_ca (versions 4 and 5: the X.509 check of the signer's certificate against
//     its organisation's CA, optional: left to `kexin verify`). signer_cert is ok: null when
//     the certificate is the one the transaction names but cannot be read as X.509 here.
//     Verification stops at the first step with ok: false; `code` is then its error code
//     (digest_mismatch, wrong_chain, wrong_suite, malformed_receipt, metadata_mismatch,
//     bad_record_proof, tx_hash_mismatch, bad_signature, bad_log_proof, block_hash_mismatch,
//     bad_outcome_proof, tx_failed, bad_certificate, unknown_proposer, bad_signer_cert;
//     bad_genesis when the given genesis cannot be read). ok: null means "not checked here"
//     with the reason in `detail`; `optional` steps (no data given, metadata withheld) do not
//     affect the verdict.
//   Verdict ok: false if a step failed; null if nothing failed but a required step could not be
//     checked in the browser (then run `kexin verify`); true if every step passed.
//   result: {digest, metadataHash, metadataChecked, txHash, height, blockHash, timestampMs,
//     chainId, suite, genesisHash, signer?, outcome?} (hex strings, BigInt height/timestamp),
//     filled as known; signer (versions 4 and 5) = {organisation, role, name, certId} as the
//     certificate names them; outcome (version 5, once its proof verified) = {status, code?,
//     message?, cost (BigInt), events: [{module, topic, attributes: {key: value}}]}.
//
//   verifyCheckpoint(checkpoint, {genesis}) -> same shape: a `GET /v1/checkpoint` signed tree
//     head (steps parse, genesis, suite, block_hash, epochs, certificate).
//   genesisHash(genesis) -> hex of H("kexin:genesis:v1" || encode(genesis)) (compare with a
//     pinned genesis hash).
//
// Signatures: Ed25519 (intl validators and signers) through WebCrypto with the strict checks of
// lib/signature.js; SM2 (gm) in BigInt JS; ECDSA P-256 (intl signers) through WebCrypto.

import { hashBytes, hashName, toHex, fromHex, bytesEqual } from './hash.js';
import { leafHash, verifyInclusion, concat } from './merkle.js';
import { parseReceipt, parseGenesis, parseHeader, parseCertificate, parseEpochs, fromHexField, MalformedError } from './parse.js';
import { parseJsonExact } from './json.js';
import { certInfo } from '../der.js';
import { verifyRaw, suiteOfKey } from './signature.js';
import {
  encodeMetadata, encodeSummary, encodeHeader, encodeEpochSet, encodeGenesis, encodeOutcome,
  signingInput, finalizeSigningInput, utf8,
} from './encoding.js';

const domainHash = (suite, domain, bytes) => hashBytes(suite, concat([utf8(domain), bytes]));
const short = (b) => toHex(b).slice(0, 16) + '…';
const SIGNATURE = { gm: 'SM2', intl: 'Ed25519' };

/**
 * The `kexin verify` command that checks an evidence receipt saved as `file` offline. An
 * evidence receipt is checked against the data it is for: with the record's digest (hex) the
 * command gives it as `--digest`; without, it names the data file (`dataFile`, default `FILE`).
 */
export function offlineCommand(file = 'receipt.json', { digest = null, dataFile = 'FILE' } = {}) {
  const what = digest ? `--digest ${digest}` : dataFile;
  return `kexin verify ${what} --receipt ${file} --genesis genesis.json`;
}

export function genesisHash(genesis) {
  const g = parseGenesis(genesis);
  return toHex(domainHash(g.suite, 'kexin:genesis:v1', encodeGenesis(g)));
}

export function blockHash(suite, header) {
  return domainHash(suite, 'kexin:block:v1', encodeHeader(header));
}

function timeText(ms) {
  return ms <= 8640000000000000n ? new Date(Number(ms)).toISOString() : `${ms} ms after 1970`;
}

const quorumOf = (n) => n - Math.floor((n - 1) / 3);

/** Validators sorted by key bytes (consensus order of §6.2). */
function consensusOrder(validators) {
  return [...validators].sort((a, b) => {
    const x = a.publicKey, y = b.publicKey;
    for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
    return x.length - y.length;
  });
}

class CertError extends Error {}

/**
 * Checks that `cert` proves `hash` final (§6): returns {unchecked: [reasons], signers: [names]}
 * or throws CertError. `sets` maps epoch (string) -> consensus-ordered validators.
 */
async function verifyCertificate(ctx, cert, hash, sets) {
  const { genesis } = ctx;
  if (cert.kind === 'ancestor') {
    if (cert.headers.length < 1 || cert.headers.length > 1024) {
      throw new CertError(`ancestor certificate: ${cert.headers.length} headers, must be 1..=1024`);
    }
    if (cert.certificate.kind === 'ancestor') throw new CertError('ancestor certificate: ancestor certificates do not nest');
    let parent = hash, parentHeight = null;
    for (const [i, h] of cert.headers.entries()) {
      if (!bytesEqual(h.parentHash, parent)) {
        throw new CertError(`ancestor certificate: header ${i} does not name the previous block as its parent`);
      }
      if (parentHeight !== null && h.height !== parentHeight + 1n) {
        throw new CertError(`ancestor certificate: header ${i} is at height ${h.height}, expected ${parentHeight + 1n}`);
      }
      parentHeight = h.height;
      parent = blockHash(genesis.suite, h);
    }
    const inner = await verifyCertificate(ctx, cert.certificate, parent, sets);
    inner.via = cert.headers.length;
    return inner;
  }
  let validators, input;
  if (cert.kind === 'signatures') {
    validators = genesis.validators;
    input = signingInput('kexin/commit', genesis.chainId, hash);
  } else {
    validators = sets.get(String(cert.epoch));
    if (!validators) {
      throw new CertError(`certificate is of consensus epoch ${cert.epoch}, whose validator set this receipt does not establish`);
    }
    input = finalizeSigningInput(genesis.chainId, cert.epoch, cert.view, cert.parentView, hash);
  }
  const unchecked = [], signers = [];
  let prev = -1;
  for (const s of cert.signatures) {
    if (s.validator <= prev) throw new CertError('certificate signatures are not strictly ascending by validator index');
    prev = s.validator;
    const v = validators[s.validator];
    if (!v) throw new CertError(`certificate names validator ${s.validator}, which is not in the validator set`);
    const r = await verifyRaw(v.publicKey, input, s.signature);
    if (r.ok === false) throw new CertError(`certificate signature of validator ${s.validator} (${v.name}) does not verify`);
    if (r.ok === null) unchecked.push(r.reason);
    signers.push(v.name);
  }
  const need = quorumOf(validators.length);
  if (cert.signatures.length < need) {
    throw new CertError(`certificate has ${cert.signatures.length} signature(s), a quorum is ${need}`);
  }
  return { unchecked, signers, of: validators.length, need, kind: cert.kind };
}

/** §6: a kind 2 certificate (or the kind 2 inside an ancestor) must be of the block's epoch. */
function checkEpoch(genesis, cert, height) {
  let epoch, certified;
  if (cert.kind === 'finalization') [epoch, certified] = [cert.epoch, height];
  else if (cert.kind === 'ancestor' && cert.certificate.kind === 'finalization' && cert.headers.length > 0) {
    [epoch, certified] = [cert.certificate.epoch, cert.headers[cert.headers.length - 1].height];
  } else return;
  const expected = certified / genesis.epochLength;
  if (epoch !== expected) {
    throw new CertError(`the certificate is of epoch ${epoch}, but height ${certified} is in epoch ${expected}`);
  }
}

/** §6: a kind 1 certificate (genesis signatures, or the one ending an ancestor certificate)
 * certifies only blocks of epochs whose validators are the genesis validators. */
function checkGenesisSignatures(genesis, cert, height, sets) {
  let certified;
  if (cert.kind === 'signatures') certified = height;
  else if (cert.kind === 'ancestor' && cert.certificate.kind === 'signatures' && cert.headers.length > 0) {
    certified = cert.headers[cert.headers.length - 1].height;
  } else return;
  const epoch = certified / genesis.epochLength;
  if (epoch === 0n) return;
  const set = sets.get(String(epoch));
  if (!set) throw new CertError(`certificate is of consensus epoch ${epoch}, whose validator set this receipt does not establish`);
  if (!sameKeys(set, consensusOrder(genesis.validators))) {
    throw new CertError(`genesis validator signatures (kind 1) certify only blocks of epochs whose validators are the genesis validators; epoch ${epoch}'s differ`);
  }
}

function sameKeys(a, b) {
  return a.length === b.length && a.every((v, i) => bytesEqual(v.publicKey, b[i].publicKey));
}

const NAME = /^[a-z0-9_.-]{1,64}$/;
const bytesOf = (s) => utf8(s).length;

/** The limits of §4.14 (Outcome::validate), in its order: an error text, or null. */
function outcomeLimits(o) {
  if (o.version === 4n) {
    if (o.gasUsed !== 0n || o.returnData.length || o.logs.length) return 'gas, return data and logs need outcome version 5';
  } else if (o.version === 5n) {
    if (o.returnData.length > 65536) return `the return data is ${o.returnData.length} bytes, above the limit of 65536`;
    if (o.logs.length > 256) return `${o.logs.length} logs, above the limit of 256`;
    if (o.status === 'failed' && o.logs.length) return 'a failed transaction emits no logs';
    for (const [i, l] of o.logs.entries()) {
      if (l.topics.length > 4) return `log ${i}: ${l.topics.length} topics, above the limit of 4`;
      if (l.data.length > 65536) return `log ${i}: ${l.data.length} bytes of data, above the limit of 65536`;
    }
  } else return `unsupported outcome version ${o.version}`;
  if (o.status === 'success') {
    if (o.code !== null || o.message !== null) return 'a success carries no code or message';
  } else {
    if (o.code === null || o.message === null) return 'a failure carries a code and a message';
    if (!NAME.test(o.code)) return `failure code ${JSON.stringify(o.code)} is not 1..=64 bytes of a-z, 0-9, '_', '-', '.'`;
    if (bytesOf(o.message) > 1024) return `the failure message is ${bytesOf(o.message)} bytes, above the limit of 1024`;
    if (o.events.length) return 'a failed transaction emits no events';
  }
  if (o.events.length > 64) return `${o.events.length} events, above the limit of 64`;
  for (const [i, e] of o.events.entries()) {
    if (!NAME.test(e.module)) return `event ${i}: module ${JSON.stringify(e.module)} is not 1..=64 bytes of a-z, 0-9, '_', '-', '.'`;
    if (!NAME.test(e.topic)) return `event ${i}: topic ${JSON.stringify(e.topic)} is not 1..=64 bytes of a-z, 0-9, '_', '-', '.'`;
    if (e.attributes.length > 16) return `event ${i}: ${e.attributes.length} attributes, above the limit of 16`;
    for (const [k, v] of e.attributes) {
      if (!NAME.test(k)) return `event ${i}: attribute key ${JSON.stringify(k)} is not 1..=64 bytes of a-z, 0-9, '_', '-', '.'`;
      if (bytesOf(v) > 1024) return `event ${i}: attribute ${k} is ${bytesOf(v)} bytes, above the limit of 1024`;
    }
  }
  return null;
}

/**
 * §9 step 9a, as the reference's check_outcome: the receipt version matches the header's, a
 * version 5 receipt carries an outcome within the limits, and its proof leads from
 * H("kexin:outcome:v1" || tx_hash || encode(outcome)) to `header.outcomes_root`.
 * Returns {outcome} (null for a version 3 block) or {error: [code, detail]}.
 */
function checkOutcome(suite, r, txHash) {
  const h = r.header, p = r.outcome;
  const expected = h.version >= 4n ? 5n : 4n;
  if (!(r.version === expected || (r.version === 3n && expected === 4n))) {
    return { error: ['malformed_receipt', `A receipt of a block of version ${h.version} is receipt version ${expected}, not ${r.version}.`] };
  }
  if (h.outcomesRoot === null || p === null) {
    if (p !== null) return { error: ['malformed_receipt', `A receipt of version ${r.version} carries no outcome.`] };
    if (h.outcomesRoot !== null) return { error: ['bad_outcome_proof', 'A receipt of a version 4 block proves the transaction\'s outcome; this one carries none.'] };
    return { outcome: null };
  }
  const limits = outcomeLimits(p);
  if (limits) return { error: ['malformed_receipt', `The outcome is not within its limits: ${limits}.`] };
  // A block of protocol version 5 writes version 5 outcomes, a block of version 4 version 4.
  const outcomeVersion = h.version >= 5n ? 5n : 4n;
  if (p.version !== outcomeVersion) {
    return { error: ['malformed_receipt', `A block of version ${h.version} has outcomes of version ${outcomeVersion}, not ${p.version}.`] };
  }
  const index = r.logProof.leafIndex - (h.logSize - h.txCount);
  if (p.proof.treeSize !== h.txCount || p.proof.leafIndex !== index) {
    return { error: ['bad_outcome_proof', `The outcome proof is for leaf ${p.proof.leafIndex} of ${p.proof.treeSize}, the transaction is ${index} of the block's ${h.txCount}.`] };
  }
  const leaf = domainHash(suite, 'kexin:outcome:v1', concat([txHash, encodeOutcome(p)]));
  const v = verifyInclusion(suite, leaf, p.proof, h.outcomesRoot);
  if (!v.ok) {
    return { error: ['bad_outcome_proof', `The outcome (status, code, message, cost, events) is not the one the header's outcomes root commits to for this transaction: ${v.reason}.`] };
  }
  return { outcome: p };
}

/** The outcome as the result reports it: {status, code?, message?, cost, events}. */
function outcomeView(o) {
  return {
    status: o.status,
    ...(o.code !== null ? { code: o.code } : {}),
    ...(o.message !== null ? { message: o.message } : {}),
    cost: o.cost,
    events: o.events.map((e) => ({ module: e.module, topic: e.topic, attributes: Object.fromEntries(e.attributes) })),
  };
}

export async function verifyEvidenceReceipt(input, opts = {}) {
  const steps = [];
  const result = {};
  let code = null;
  const finish = () => {
    let ok = true;
    for (const s of steps) {
      if (s.ok === false) ok = false;
      else if (s.ok === null && !s.optional && ok !== false) ok = null;
    }
    return { ok, code, steps, result };
  };
  const pass = (name, detail) => steps.push({ name, ok: true, detail });
  const skip = (name, detail, optional = false) => steps.push({ name, ok: null, detail, ...(optional ? { optional } : {}) });
  const fail = (name, c, detail) => {
    steps.push({ name, ok: false, code: c, detail });
    code = c;
    return finish();
  };

  // Parse the receipt and the genesis.
  let r, genesis = null;
  try {
    r = parseReceipt(input);
  } catch (e) {
    if (!(e instanceof MalformedError)) throw e;
    return fail('parse', 'malformed_receipt', `The receipt cannot be read: ${e.message}.`);
  }
  if (opts.genesis !== undefined && opts.genesis !== null) {
    try {
      genesis = parseGenesis(opts.genesis);
    } catch (e) {
      if (!(e instanceof MalformedError)) throw e;
      return fail('genesis', 'bad_genesis', `The genesis cannot be read: ${e.message}.`);
    }
    result.genesisHash = toHex(domainHash(genesis.suite, 'kexin:genesis:v1', encodeGenesis(genesis)));
    pass('genesis', `Genesis of chain ${genesis.chainId} (suite ${genesis.suite}, ${genesis.validators.length} validators), genesis hash ${result.genesisHash}: compare it with the genesis hash you trust.`);
  } else {
    skip('genesis', 'No genesis was given: the chain and the validators who certified the block cannot be checked. Run `kexin verify` with the chain\'s genesis.');
  }
  const suite = genesis ? genesis.suite : opts.suite || r.suite;
  const H = hashName(suite);
  const tx = r.transaction;

  // Steps 1-3: chain, suite, version.
  if (genesis) {
    for (const [what, id] of [['receipt', r.chainId], ['transaction', tx.chainId]]) {
      if (id !== genesis.chainId) {
        return fail('chain', 'wrong_chain', `The ${what} is for chain ${JSON.stringify(id)} but the genesis is for ${JSON.stringify(genesis.chainId)}.`);
      }
    }
    pass('chain', `The receipt and its transaction are for chain ${genesis.chainId}, the genesis's chain.`);
  } else {
    skip('chain', `The receipt says chain ${JSON.stringify(r.chainId)}; without the genesis this is not checked.`);
  }
  for (const [what, s] of [['the receipt', r.suite], ['the signer key', suiteOfKey(tx.signer)], ['the proposer key', suiteOfKey(r.header.proposer)]]) {
    if (s !== suite) {
      return fail('suite', 'wrong_suite', `The chain's suite is ${suite} but ${what} is of suite ${s}.`);
    }
  }
  if (opts.suite && opts.suite !== suite) {
    return fail('suite', 'wrong_suite', `Expected suite ${opts.suite} but the chain's suite is ${suite}.`);
  }
  pass('suite', `Suite ${suite} (${H} and ${SIGNATURE[suite]}) for the receipt, the signer key and the proposer key.`);
  if (r.version < 3n || r.version > 5n) {
    return fail('version', 'malformed_receipt', `Unsupported receipt version ${r.version} (this page reads versions 3 to 5).`);
  }
  pass('version', `Receipt format version ${r.version}.`);
  // Step 0 (after chain, suite and version, as in the reference verifier): the user's data.
  if (opts.digest !== undefined && opts.digest !== null) {
    let d = opts.digest;
    if (typeof d === 'string') {
      try {
        d = fromHex(d, 32);
      } catch (e) {
        return fail('digest', 'digest_mismatch', `The given digest is not 64 hex characters: ${e.message}.`);
      }
    }
    if (!bytesEqual(d, r.record.digest)) {
      return fail('digest', 'digest_mismatch', `The data's ${H} digest ${toHex(d)} does not equal the record's digest ${toHex(r.record.digest)}: this is not the data the receipt is for, or it was changed.`);
    }
    pass('digest', `The data's ${H} digest equals the record's digest ${toHex(r.record.digest)}.`);
    result.dataChecked = true;
  } else {
    skip('digest', 'No data was given: the receipt proves that the record\'s digest was recorded, not that you hold the data.', true);
    result.dataChecked = false;
  }

  // §9 step 3a, after step 0 as in the reference: version 3 carries no signer certificate;
  // in versions 4 and 5 it is the one the transaction names.
  if (r.version === 3n && r.signerCert) return fail('signer_cert', 'malformed_receipt', 'A version 3 receipt carries no signer_cert.');
  if (r.version >= 4n) {
    const permissioned = genesis ? genesis.organisations.length > 0 : tx.cert !== null;
    const sc = r.signerCert;
    if (!sc && permissioned) {
      return fail('signer_cert', 'bad_signer_cert', `A version ${r.version} receipt of a chain with organisations carries the signer's certificate (signer_cert); this one does not.`);
    }
    if (sc && !permissioned) return fail('signer_cert', 'malformed_receipt', 'A receipt of a chain without organisations carries no signer_cert.');
    if (sc) {
      const id = domainHash(suite, 'kexin:cert:v1', sc.cert);
      if (tx.cert === null) return fail('signer_cert', 'bad_signer_cert', 'The transaction names no certificate.');
      if (!bytesEqual(id, tx.cert)) {
        return fail('signer_cert', 'bad_signer_cert', `The receipt's certificate has id ${toHex(id)}, the transaction names ${toHex(tx.cert)}.`);
      }
      const info = certInfo(toHex(sc.cert));
      if (!info || !info.subject.O) {
        // Bound to the transaction (the reference's step 3a passed), but who it names is
        // step 14, the X.509 check this page leaves to `kexin verify` (which refuses a
        // certificate it cannot read, bad_signer_cert).
        skip('signer_cert', `The receipt carries certificate ${short(id)}, the one the transaction names, but this browser cannot read it as X.509 with an organisation (O): who signed is not shown. Run \`kexin verify\`, which checks the certificate.`);
      } else {
        result.signer = { organisation: info.subject.O, role: info.subject.OU || '', name: info.subject.CN || '', certId: toHex(id) };
        pass('signer_cert', `The transaction was signed under certificate ${short(id)} of organisation ${info.subject.O} (role ${info.subject.OU || '?'}, ${info.subject.CN || '?'}), which the receipt carries.`);
      }
    }
  }

  result.chainId = r.chainId;
  result.suite = suite;
  result.digest = toHex(r.record.digest);
  result.metadataHash = toHex(r.record.metadataHash);

  // Step 4: metadata.
  const m = r.record.metadata;
  result.metadataChecked = m !== null;
  if (m !== null) {
    const ct = utf8(m.contentType).length;
    const total = ct + utf8(m.label).length + (m.externalRef === null ? 0 : utf8(m.externalRef).length);
    if (ct > 127) return fail('metadata', 'malformed_receipt', `The content type is ${ct} bytes, above the limit of 127.`);
    if (total > 1024) return fail('metadata', 'malformed_receipt', `The metadata is ${total} bytes, above the limit of 1024.`);
    const mh = domainHash(suite, 'kexin:metadata:v1', encodeMetadata(m));
    if (!bytesEqual(mh, r.record.metadataHash)) {
      return fail('metadata', 'metadata_mismatch', `The metadata hashes to ${toHex(mh)}, not to the record's metadata hash ${toHex(r.record.metadataHash)}: the salt, content type, label or external reference was changed.`);
    }
    pass('metadata', 'The record\'s metadata (salt, content type, label, external reference) hashes to its metadata hash.');
  } else {
    skip('metadata', 'The metadata is withheld from this receipt: it proves the digest and the metadata hash, not the metadata.', true);
  }

  // Step 5: the record in the transaction.
  if (tx.payload.type !== 'evidence') {
    return fail('record_proof', 'malformed_receipt', 'An evidence receipt\'s transaction must be an evidence transaction.');
  }
  if (r.recordProof.treeSize !== tx.payload.recordCount) {
    return fail('record_proof', 'bad_record_proof', `The record proof is for ${r.recordProof.treeSize} records, the transaction has ${tx.payload.recordCount}.`);
  }
  const recordLeaf = leafHash(suite, concat([utf8('kexin:record:v2'), r.record.digest, r.record.metadataHash]));
  const rp = verifyInclusion(suite, recordLeaf, r.recordProof, tx.payload.recordsRoot);
  if (!rp.ok) return fail('record_proof', 'bad_record_proof', `The record is not in the transaction's records: ${rp.reason}.`);
  pass('record_proof', `The record (digest and metadata hash) is record ${r.recordProof.leafIndex + 1n} of ${tx.payload.recordCount} in the transaction: its proof leads to the records root ${short(tx.payload.recordsRoot)}.`);

  // Step 6: transaction hash.
  const txHash = domainHash(suite, 'kexin:tx:v1', encodeSummary(tx));
  if (!bytesEqual(txHash, tx.hash)) {
    return fail('tx_hash', 'tx_hash_mismatch', `The transaction hash ${toHex(tx.hash)} does not match the transaction's contents (${toHex(txHash)}).`);
  }
  result.txHash = toHex(txHash);
  pass('tx_hash', `The transaction (signer, nonce ${tx.nonce}, records root) hashes to the transaction hash ${result.txHash}.`);

  // Step 7: transaction signature.
  const chainId = genesis ? genesis.chainId : r.chainId;
  const sig = await verifyRaw(tx.signer, signingInput('kexin/tx', chainId, txHash), tx.signature);
  if (sig.ok === false) {
    return fail('tx_signature', 'bad_signature', `The transaction signature does not verify for signer ${toHex(tx.signer)} (${sig.reason}).`);
  }
  if (sig.ok === null) skip('tx_signature', `${sig.reason}. Run \`kexin verify\` to check the signer's signature.`);
  else pass('tx_signature', `The signer ${short(tx.signer)} signed the transaction hash (${tx.signer.length === 65 ? 'ECDSA P-256' : SIGNATURE[suite]}).`);

  // Step 8: the transaction in the block's log.
  const h = r.header, lp = r.logProof;
  if (lp.treeSize !== h.logSize) {
    return fail('log_proof', 'bad_log_proof', `The log proof is for a log of ${lp.treeSize} transactions, the header's log has ${h.logSize}.`);
  }
  if (h.txCount > h.logSize) {
    return fail('log_proof', 'malformed_receipt', `The header's tx_count ${h.txCount} exceeds its log_size ${h.logSize}.`);
  }
  const first = h.logSize - h.txCount;
  if (lp.leafIndex < first) {
    return fail('log_proof', 'bad_log_proof', `The transaction is at log index ${lp.leafIndex}, before this block's first transaction ${first}.`);
  }
  const logLeaf = leafHash(suite, concat([utf8('kexin:log:v1'), txHash, tx.signature]));
  const lr = verifyInclusion(suite, logLeaf, lp, h.logRoot);
  if (!lr.ok) return fail('log_proof', 'bad_log_proof', `The transaction is not in the block's log: ${lr.reason}.`);
  pass('log_proof', `The transaction is entry ${lp.leafIndex} of the ledger's log of ${h.logSize} transactions, one of this block's ${h.txCount}: its proof leads to the header's log root ${short(h.logRoot)}.`);

  // Step 9: block hash.
  const bh = blockHash(suite, h);
  if (!bytesEqual(bh, r.blockHash)) {
    return fail('block_hash', 'block_hash_mismatch', `The block hash ${toHex(r.blockHash)} does not match the header (${toHex(bh)}).`);
  }
  result.height = h.height;
  result.blockHash = toHex(bh);
  result.timestampMs = h.timestampMs;
  pass('block_hash', `The header of block ${h.height} (time ${timeText(h.timestampMs)}) hashes to the block hash ${result.blockHash}.`);

  // Step 9a: the outcome (receipt version 5, blocks of protocol version 4); a record receipt
  // needs a success.
  const oc = checkOutcome(suite, r, txHash);
  if (oc.error) return fail('outcome', oc.error[0], oc.error[1]);
  if (oc.outcome) {
    const o = oc.outcome;
    result.outcome = outcomeView(o);
    if (o.status !== 'success') {
      return fail('outcome', 'tx_failed', `The transaction is in block ${h.height} but failed (${o.code}: ${o.message}): it took no effect, so it attested nothing.`);
    }
    pass('outcome', `The transaction succeeded (cost ${o.cost}, ${o.events.length} event(s)${o.events.length ? `: ${o.events.map((e) => `${e.module}/${e.topic}`).join(', ')}` : ''}): its outcome is ${o.proof.leafIndex + 1n} of the block's ${h.txCount}, whose proof leads to the header's outcomes root ${short(h.outcomesRoot)}.`);
  } else {
    pass('outcome', `A block of protocol version ${h.version}: every transaction in it took effect, and a receipt version ${r.version} carries no outcome.`);
  }

  // Steps 10-11: epoch links and the certificate.
  if (!genesis) {
    skip('epochs', 'Without the genesis the validators of the block\'s epoch are not known.');
    skip('certificate', 'Without the genesis the validators\' certificate is not checked. Run `kexin verify` with the chain\'s genesis.');
    return finish();
  }
  const done = await checkFinality(genesis, h, bh, r.certificate, r.epochs, { pass, skip, fail, result });
  if (done) return done;
  if (result.signer) {
    const org = result.signer.organisation;
    const where = r.signerCert.caSet
      ? `the organisation's CA set proven in the chain's state at height ${r.signerCert.caSet.header.height}`
      : genesis.organisations.some((o) => o.name === org) ? 'the genesis' : null;
    if (!where) return fail('signer_ca', 'bad_signer_cert', `The certificate names organisation ${org}, which the genesis does not list, and the receipt carries no CA-set proof.`);
    skip('signer_ca', `Not checked in this browser: that ${org}'s CA (from ${where}) issued the certificate and both were valid at the block's time. Run \`kexin verify\`, which checks it and prints the organisation, role and subject.`, true);
  }
  return finish();
}

/** Steps 10-11 of §9: the epoch links and the certificate of `header` (hash `bh`). */
async function checkFinality(genesis, h, bh, certificate, epochs, { pass, skip, fail, result }) {
  const ctx = { genesis };
  const sets = new Map([['0', consensusOrder(genesis.validators)]]);
  const unchecked = [];
  let latest = 0n;
  try {
    for (const link of epochs) {
      const e = link.set.epoch;
      const badLink = (why) => new CertError(`epoch ${e} link: ${why}`);
      if (e === 0n) throw badLink('epoch 0\'s validators are the genesis\'s');
      if (e <= latest) {
        if (!sameKeys(sets.get(String(e)), consensusOrder(link.set.validators))) throw badLink('conflicts with the set already established');
        continue;
      }
      if (e !== latest + 1n) throw badLink(`the links must run without gaps: the next one is epoch ${latest + 1n}`);
      const boundary = e * genesis.epochLength - 1n;
      if (link.header.height !== boundary) throw badLink(`the header is at height ${link.header.height}, the epoch before ends at ${boundary}`);
      if (link.set.validators.length < 1 || link.set.validators.length > 100) throw badLink('a set has 1..=100 validators');
      const setHash = domainHash(genesis.suite, 'kexin:validators:v1', encodeEpochSet(link.set));
      if (!bytesEqual(link.header.nextValidators, setHash)) throw badLink('the header does not commit to this validator set');
      checkEpoch(genesis, link.certificate, boundary);
      checkGenesisSignatures(genesis, link.certificate, boundary, sets);
      const c = await verifyCertificate(ctx, link.certificate, blockHash(genesis.suite, link.header), sets);
      unchecked.push(...c.unchecked);
      sets.set(String(e), consensusOrder(link.set.validators));
      latest = e;
    }
  } catch (e) {
    if (!(e instanceof CertError)) throw e;
    return fail('epochs', 'bad_certificate', `The epoch links do not prove the validators: ${e.message}.`);
  }
  const epoch = h.height / genesis.epochLength;
  const epochText = epochs.length === 0
    ? `Block ${h.height} is in consensus epoch ${epoch}${epoch === 0n ? ': its validators are the genesis validators' : ''}`
    : `${epochs.length} epoch link(s) from the genesis to epoch ${latest}: each epoch's validators were certified by the epoch before`;
  if (unchecked.length) skip('epochs', `${epochText}; but ${unchecked[0]}. Run \`kexin verify\`.`);
  else pass('epochs', `${epochText}.`);

  let c;
  try {
    checkEpoch(genesis, certificate, h.height);
    checkGenesisSignatures(genesis, certificate, h.height, sets);
    c = await verifyCertificate(ctx, certificate, bh, sets);
  } catch (e) {
    if (!(e instanceof CertError)) throw e;
    return fail('certificate', 'bad_certificate', `The commit certificate does not prove the block final: ${e.message}.`);
  }
  result.signers = c.signers;
  const how = certificate.kind === 'ancestor'
    ? ` (through ${c.via} later block header(s), whose last block has its own certificate)`
    : '';
  const who = `${c.signers.length} of ${c.of} validators (${c.signers.join(', ')}; a quorum is ${c.need})`;
  if (c.unchecked.length) {
    skip('certificate', `The certificate names ${who}${how}, but their signatures were not checked: ${c.unchecked[0]}. Run \`kexin verify\`.`);
  } else {
    pass('certificate', `${who} signed block ${h.height}${how}: every signature verifies.`);
  }
  // §9: the proposer is one of the block's epoch's validators.
  const members = sets.get(String(epoch));
  const proposer = members && members.find((v) => bytesEqual(v.publicKey, h.proposer));
  if (!proposer) {
    return fail('proposer', 'unknown_proposer', `The block's proposer ${short(h.proposer)} is not a validator of epoch ${epoch}.`);
  }
  pass('proposer', `The block was proposed by ${proposer.name}, a validator of epoch ${epoch}.`);
  return null;
}

function recorder() {
  const rec = { steps: [], result: {}, code: null };
  rec.finish = () => {
    let ok = true;
    for (const s of rec.steps) {
      if (s.ok === false) ok = false;
      else if (s.ok === null && !s.optional && ok !== false) ok = null;
    }
    return { ok, code: rec.code, steps: rec.steps, result: rec.result };
  };
  rec.pass = (name, detail) => rec.steps.push({ name, ok: true, detail });
  rec.skip = (name, detail) => rec.steps.push({ name, ok: null, detail });
  rec.fail = (name, c, detail) => {
    rec.steps.push({ name, ok: false, code: c, detail });
    rec.code = c;
    return rec.finish();
  };
  return rec;
}

/**
 * Verifies a signed tree head, the JSON of `GET /v1/checkpoint` ({block_hash, header,
 * certificate, epochs?}), against the genesis: steps parse, genesis, suite, block_hash, epochs,
 * certificate (same meanings and verdict as verifyEvidenceReceipt; the genesis is required).
 */
export async function verifyCheckpoint(input, opts = {}) {
  const rec = recorder();
  let cp, genesis;
  try {
    const v = typeof input === 'string' ? parseJsonExact(input) : input;
    if (v === null || typeof v !== 'object') throw new MalformedError('checkpoint: expected an object');
    cp = {
      blockHash: fromHexField(v.block_hash, 'block_hash'),
      header: parseHeader(v.header),
      certificate: parseCertificate(v.certificate),
      epochs: parseEpochs(v.epochs),
    };
  } catch (e) {
    if (!(e instanceof MalformedError || e instanceof SyntaxError)) throw e;
    return rec.fail('parse', 'malformed_receipt', `The checkpoint cannot be read: ${e.message}.`);
  }
  try {
    genesis = parseGenesis(opts.genesis);
  } catch (e) {
    if (!(e instanceof MalformedError)) throw e;
    return rec.fail('genesis', 'bad_genesis', `The genesis cannot be read: ${e.message}.`);
  }
  rec.result.genesisHash = toHex(domainHash(genesis.suite, 'kexin:genesis:v1', encodeGenesis(genesis)));
  rec.pass('genesis', `Genesis of chain ${genesis.chainId}, genesis hash ${rec.result.genesisHash}.`);
  const ps = suiteOfKey(cp.header.proposer);
  if (ps !== genesis.suite) return rec.fail('suite', 'wrong_suite', `The chain's suite is ${genesis.suite} but the proposer key is of suite ${ps}.`);
  rec.pass('suite', `Suite ${genesis.suite}.`);
  const bh = blockHash(genesis.suite, cp.header);
  if (!bytesEqual(bh, cp.blockHash)) {
    return rec.fail('block_hash', 'block_hash_mismatch', `The block hash ${toHex(cp.blockHash)} does not match the header (${toHex(bh)}).`);
  }
  rec.result.height = cp.header.height;
  rec.result.blockHash = toHex(bh);
  rec.pass('block_hash', `The header of block ${cp.header.height} hashes to the block hash ${rec.result.blockHash}.`);
  const done = await checkFinality(genesis, cp.header, bh, cp.certificate, cp.epochs, rec);
  return done || rec.finish();
}
