//! Reading the frozen fixtures (`tests/fixtures/frozen/vN/`): the helpers that
//! `backward_compatibility.rs` (format version 3) and `backward_compatibility_v4.rs` (format
//! version 4) share. Each test file keeps what is particular to its version.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kexin_types::{EpochLink, Genesis, Hash};
use serde_json::Value;

/// `tests/fixtures/frozen/{version}` (`"v3"`, `"v4"`).
pub fn frozen_dir(version: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/frozen")
        .join(version)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files in `dir` whose names end with `suffix`, sorted.
pub fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().ends_with(suffix))
        .collect();
    v.sort();
    v
}

pub fn name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

pub fn hash(v: &Value) -> Hash {
    Hash::from_hex(v.as_str().unwrap_or_else(|| panic!("not a hash: {v}"))).unwrap()
}

/// A frozen `*.encoding.json`: the bytes the released code wrote.
pub fn encoding(path: &Path) -> Vec<u8> {
    hex::decode(json(path)["encoding"].as_str().unwrap()).unwrap()
}

/// The `*.encoding.json` next to a `*.api.json` or `*.receipt.json`.
pub fn encoding_next_to(path: &Path) -> Vec<u8> {
    let p = path.to_str().unwrap();
    encoding(&PathBuf::from(
        p.replace(".api.json", ".encoding.json")
            .replace(".receipt.json", ".encoding.json"),
    ))
}

/// Flips the low bit of the hex digit at `at` (counting from 0) of a hex string.
pub fn flip_hex(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    let d = (b[at] as char).to_digit(16).unwrap() ^ 1;
    b[at] = std::char::from_digit(d, 16).unwrap() as u8;
    String::from_utf8(b).unwrap()
}

/// Flips one hex digit of the string at `pointer` (a JSON pointer) of `v`.
pub fn tamper(v: &Value, pointer: &str) -> Value {
    let mut v = v.clone();
    let field = v
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"));
    *field = Value::String(flip_hex(field.as_str().unwrap(), 5));
    v
}

/// `v` with the value at `pointer` replaced.
pub fn with(v: &Value, pointer: &str, new: Value) -> Value {
    let mut v = v.clone();
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = new;
    v
}

/// The genesis of the frozen network in `dir`.
pub fn genesis_in(dir: &Path) -> Genesis {
    Genesis::from_json(&read(&dir.join("genesis.json"))).unwrap()
}

/// The payload type of a frozen transaction file, `-` and the action type for a proposal
/// (`h0007-0-propose-set_param.api.json` → `propose-set_param`).
pub fn kind_of(file: &str) -> &str {
    let stem = file.split('.').next().unwrap();
    stem.splitn(3, '-').nth(2).unwrap()
}

/// Every frozen block of the network in `dir`, by height: the API answer and the bytes.
pub fn blocks_in(dir: &Path) -> BTreeMap<u64, (Value, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for path in files(&dir.join("blocks"), ".api.json") {
        let api = json(&path);
        let bytes = encoding_next_to(&path);
        out.insert(api["header"]["height"].as_u64().unwrap(), (api, bytes));
    }
    out
}

/// The epoch links the frozen nodes of `dir` served (`GET /v1/epochs/{e}`), epochs 1 and later.
pub fn epoch_links_in(dir: &Path) -> Vec<EpochLink> {
    let mut links: Vec<(u64, EpochLink)> = files(&dir.join("epochs"), ".api.json")
        .iter()
        .map(|p| json(p))
        .filter(|e| e["epoch"].as_u64().unwrap() > 0)
        .map(|e| {
            (
                e["epoch"].as_u64().unwrap(),
                serde_json::from_value(e["link"].clone()).unwrap(),
            )
        })
        .collect();
    links.sort_by_key(|(e, _)| *e);
    links.into_iter().map(|(_, l)| l).collect()
}
