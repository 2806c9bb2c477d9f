//! Byte layouts of the ledger's keys and values (see [`Table`](crate::Table)).

use kexin_crypto::{Hash, Suite};
use kexin_merkle::LogAccumulator;
use kexin_types::state::RecordLocation;

use crate::error::LedgerError;
use crate::ledger::{NoteLocation, TxLocation};

/// Version of the table layouts; stored under [`META_SCHEMA`].
pub const SCHEMA_VERSION: u8 = 3;

/// Meta key: the genesis hash (32 bytes).
pub const META_GENESIS_HASH: &[u8] = b"genesis_hash";
/// Meta key: the genesis encoding.
pub const META_GENESIS: &[u8] = b"genesis";
/// Meta key: the schema version (1 byte).
pub const META_SCHEMA: &[u8] = b"schema";
/// Meta key: the head block's header encoding.
pub const META_HEAD: &[u8] = b"head";
/// Meta key: the log frontier, `u64 size || peaks (32 bytes each, largest first)`.
pub const META_LOG: &[u8] = b"log";

pub(crate) fn height_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

pub(crate) fn parse_u64(bytes: &[u8], what: &str) -> Result<u64, LedgerError> {
    let arr: [u8; 8] = bytes.try_into().map_err(|_| {
        LedgerError::corrupt(format!("{what}: expected 8 bytes, got {}", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(arr))
}

pub(crate) fn parse_hash(bytes: &[u8], what: &str) -> Result<Hash, LedgerError> {
    let arr: [u8; 32] = bytes.try_into().map_err(|_| {
        LedgerError::corrupt(format!("{what}: expected 32 bytes, got {}", bytes.len()))
    })?;
    Ok(Hash(arr))
}

pub(crate) fn log_node_key(level: u8, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

pub(crate) fn encode_tx_location(loc: &TxLocation) -> [u8; 20] {
    let mut v = [0u8; 20];
    v[..8].copy_from_slice(&loc.height.to_be_bytes());
    v[8..12].copy_from_slice(&loc.tx_index.to_be_bytes());
    v[12..].copy_from_slice(&loc.log_index.to_be_bytes());
    v
}

pub(crate) fn decode_tx_location(bytes: &[u8]) -> Result<TxLocation, LedgerError> {
    if bytes.len() != 20 {
        return Err(LedgerError::corrupt(format!(
            "tx location: expected 20 bytes, got {}",
            bytes.len()
        )));
    }
    let mut h = [0u8; 8];
    let mut t = [0u8; 4];
    let mut l = [0u8; 8];
    h.copy_from_slice(&bytes[..8]);
    t.copy_from_slice(&bytes[8..12]);
    l.copy_from_slice(&bytes[12..]);
    Ok(TxLocation {
        height: u64::from_be_bytes(h),
        tx_index: u32::from_be_bytes(t),
        log_index: u64::from_be_bytes(l),
    })
}

pub(crate) fn evidence_key(digest: &Hash, loc: &RecordLocation) -> [u8; 48] {
    let mut k = [0u8; 48];
    k[..32].copy_from_slice(digest.as_bytes());
    k[32..40].copy_from_slice(&loc.height.to_be_bytes());
    k[40..44].copy_from_slice(&loc.tx_index.to_be_bytes());
    k[44..].copy_from_slice(&loc.record_index.to_be_bytes());
    k
}

pub(crate) fn parse_evidence_key(key: &[u8]) -> Result<(Hash, RecordLocation), LedgerError> {
    if key.len() != 48 {
        return Err(LedgerError::corrupt(format!(
            "evidence index key: expected 48 bytes, got {}",
            key.len()
        )));
    }
    let digest = parse_hash(&key[..32], "evidence index digest")?;
    let mut h = [0u8; 8];
    let mut t = [0u8; 4];
    let mut r = [0u8; 4];
    h.copy_from_slice(&key[32..40]);
    t.copy_from_slice(&key[40..44]);
    r.copy_from_slice(&key[44..]);
    Ok((
        digest,
        RecordLocation {
            height: u64::from_be_bytes(h),
            tx_index: u32::from_be_bytes(t),
            record_index: u32::from_be_bytes(r),
        },
    ))
}

pub(crate) fn note_key(subject: &Hash, height: u64, tx_index: u32) -> [u8; 44] {
    let mut k = [0u8; 44];
    k[..32].copy_from_slice(subject.as_bytes());
    k[32..40].copy_from_slice(&height.to_be_bytes());
    k[40..].copy_from_slice(&tx_index.to_be_bytes());
    k
}

pub(crate) fn parse_note_entry(key: &[u8], value: &[u8]) -> Result<NoteLocation, LedgerError> {
    if key.len() != 44 {
        return Err(LedgerError::corrupt(format!(
            "note index key: expected 44 bytes, got {}",
            key.len()
        )));
    }
    let mut h = [0u8; 8];
    let mut t = [0u8; 4];
    h.copy_from_slice(&key[32..40]);
    t.copy_from_slice(&key[40..]);
    Ok(NoteLocation {
        tx_hash: parse_hash(value, "note index transaction hash")?,
        height: u64::from_be_bytes(h),
        tx_index: u32::from_be_bytes(t),
    })
}

pub(crate) fn encode_log(acc: &LogAccumulator) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + 32 * acc.peaks().len());
    v.extend_from_slice(&acc.size().to_be_bytes());
    for p in acc.peaks() {
        v.extend_from_slice(p.as_bytes());
    }
    v
}

pub(crate) fn decode_log(suite: Suite, bytes: &[u8]) -> Result<LogAccumulator, LedgerError> {
    if bytes.len() < 8 || !(bytes.len() - 8).is_multiple_of(32) {
        return Err(LedgerError::corrupt(format!(
            "log frontier: bad length {}",
            bytes.len()
        )));
    }
    let size = parse_u64(&bytes[..8], "log size")?;
    let peaks = bytes[8..]
        .chunks_exact(32)
        .map(|c| parse_hash(c, "log peak"))
        .collect::<Result<Vec<_>, _>>()?;
    LogAccumulator::from_peaks(suite, size, peaks)
        .map_err(|e| LedgerError::corrupt(format!("log frontier: {e}")))
}

/// A [`Table::Registry`](crate::Table::Registry) key: `u8 state key kind || key bytes`.
/// The state namespaces whose keys the registry lists (organisations, certificates,
/// proposals, epochs): the ones the API pages through.
pub(crate) const REGISTRY_NAMESPACES: [u8; 4] = [
    kexin_types::state::namespace::ORG,
    kexin_types::state::namespace::CERT,
    kexin_types::state::namespace::PROPOSAL,
    kexin_types::state::namespace::EPOCH,
];

/// `u32 n || n × (tx hash (32) || u32 length || Outcome)`: a block's transactions' outcomes
/// in [`Table::Outcomes`](crate::Table), with the hashes their leaves bind.
pub(crate) fn encode_outcomes(outcomes: &[(Hash, kexin_types::Outcome)]) -> Vec<u8> {
    use kexin_types::Encode;
    let mut out = Vec::new();
    out.extend_from_slice(&(outcomes.len() as u32).to_be_bytes());
    for (tx, o) in outcomes {
        let bytes = o.encode();
        out.extend_from_slice(tx.as_bytes());
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

pub(crate) fn decode_outcomes(
    bytes: &[u8],
) -> Result<Vec<(Hash, kexin_types::Outcome)>, LedgerError> {
    use kexin_types::Decode;
    let corrupt = |what: String| LedgerError::corrupt(format!("stored outcomes: {what}"));
    let mut r = kexin_types::codec::Reader::new(bytes);
    let n = r.u32("outcome count").map_err(|e| corrupt(e.to_string()))?;
    let mut out = Vec::with_capacity((n as usize).min(4096));
    for _ in 0..n {
        let tx = r.hash("tx hash").map_err(|e| corrupt(e.to_string()))?;
        let len = r
            .u32("outcome length")
            .map_err(|e| corrupt(e.to_string()))? as usize;
        let body = r.take("outcome", len).map_err(|e| corrupt(e.to_string()))?;
        let o = kexin_types::Outcome::decode(body).map_err(|e| corrupt(e.to_string()))?;
        out.push((tx, o));
    }
    r.finish().map_err(|e| corrupt(e.to_string()))?;
    Ok(out)
}

pub(crate) fn registry_key(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + body.len());
    k.push(kind);
    k.extend_from_slice(body);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_round_trip_and_sort_by_location() {
        let loc = TxLocation {
            height: 7,
            tx_index: 3,
            log_index: 1 << 40,
        };
        assert_eq!(decode_tx_location(&encode_tx_location(&loc)).unwrap(), loc);
        assert!(decode_tx_location(&[0; 19]).is_err());

        let d = Hash([9; 32]);
        let a = RecordLocation {
            height: 1,
            tx_index: 300,
            record_index: 0,
        };
        let b = RecordLocation {
            height: 2,
            tx_index: 0,
            record_index: 0,
        };
        assert!(evidence_key(&d, &a) < evidence_key(&d, &b));
        assert_eq!(parse_evidence_key(&evidence_key(&d, &a)).unwrap(), (d, a));
        assert!(log_node_key(0, 256) > log_node_key(0, 255));

        let mut acc = LogAccumulator::new(Suite::Intl);
        for i in 0u8..11 {
            acc.append(Hash([i; 32]));
        }
        let back = decode_log(Suite::Intl, &encode_log(&acc)).unwrap();
        assert_eq!(back.root(), acc.root());
        assert_eq!(back.size(), 11);
        let mut bad = encode_log(&acc);
        bad.truncate(bad.len() - 32);
        assert!(decode_log(Suite::Intl, &bad).is_err());
    }
}
