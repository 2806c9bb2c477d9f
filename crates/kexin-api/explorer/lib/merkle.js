// RFC 6962 / RFC 9162 §2.1 Merkle trees as Kexin uses them (docs/formats.md §5.4): the
// transaction log and each transaction's record tree.
//
//   leafHash(suite, data)                 -> H(0x00 || data)
//   nodeHash(suite, left, right)          -> H(0x01 || left || right)
//   merkleRoot(suite, leafHashes)         -> MTH over leaf hashes (H("") when empty)
//   expectedPathLength(index, size)       -> number of hashes in PATH(index, D[0:size])
//   verifyInclusion(suite, leaf, proof, root) -> {ok: true} | {ok: false, reason}
//       proof = {leafIndex: BigInt, treeSize: BigInt, path: Uint8Array(32)[]}
//
// Indices and sizes are BigInt (u64). Hashes are Uint8Array(32). Pure JS, synchronous.

import { hashBytes, bytesEqual } from './hash.js';

function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function leafHash(suite, data) {
  return hashBytes(suite, concat([Uint8Array.of(0), data]));
}

export function nodeHash(suite, left, right) {
  return hashBytes(suite, concat([Uint8Array.of(1), left, right]));
}

/** Largest power of two strictly less than n (n >= 2), as BigInt. */
function splitPoint(n) {
  let k = 1n;
  while (k * 2n < n) k *= 2n;
  return k;
}

export function merkleRoot(suite, leaves) {
  if (leaves.length === 0) return hashBytes(suite, new Uint8Array(0));
  if (leaves.length === 1) return leaves[0];
  const k = Number(splitPoint(BigInt(leaves.length)));
  return nodeHash(suite, merkleRoot(suite, leaves.slice(0, k)), merkleRoot(suite, leaves.slice(k)));
}

export function expectedPathLength(index, size) {
  let lo = 0n, hi = size, len = 0;
  while (hi - lo > 1n) {
    const mid = lo + splitPoint(hi - lo);
    if (index < mid) hi = mid;
    else lo = mid;
    len++;
  }
  return len;
}

/** Checks that `leaf` is entry `proof.leafIndex` of the tree of `proof.treeSize` with `root`. */
export function verifyInclusion(suite, leaf, proof, root) {
  const { leafIndex, treeSize, path } = proof;
  if (leafIndex >= treeSize) {
    return { ok: false, reason: `leaf index ${leafIndex} is not below the tree size ${treeSize}` };
  }
  const want = expectedPathLength(leafIndex, treeSize);
  if (path.length !== want) {
    return { ok: false, reason: `the path has ${path.length} hashes, a tree of ${treeSize} needs ${want} for leaf ${leafIndex}` };
  }
  let fn = leafIndex, sn = treeSize - 1n, r = leaf;
  for (const p of path) {
    if (sn === 0n) return { ok: false, reason: 'the path is longer than the tree is deep' };
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(suite, p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(suite, r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) return { ok: false, reason: 'the path is shorter than the tree is deep' };
  if (!bytesEqual(r, root)) return { ok: false, reason: 'the path does not lead to the root' };
  return { ok: true };
}

export { concat };
