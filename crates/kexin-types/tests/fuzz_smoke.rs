//! Stable-toolchain smoke run of the cargo-fuzz targets in `fuzz/`: the very same target bodies
//! (`fuzz/src/lib.rs`, included by path) over the conformance fixtures' encodings and a few
//! thousand deterministic mutations of each, so CI exercises the canonical-form check without
//! nightly or libFuzzer.
//!
//! `KEXIN_WRITE_FUZZ_SEEDS=1 cargo test -p kexin-types --test fuzz_smoke` also writes the
//! unmutated seeds to `fuzz/corpus/<target>/` (git-ignored) for `cargo +nightly fuzz run`.

mod common;

#[path = "../../../fuzz/src/lib.rs"]
mod bodies;

use common::*;
use kexin_types::{Block, Encode};

/// Seeds per target: valid encodings of both suites.
fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for suite in SUITES {
        let chain = conformance_chain(suite);
        for b in &chain.blocks {
            for tx in &b.transactions {
                out.push(("decode_transaction", tx.encode()));
            }
            out.push((
                "decode_block",
                Block {
                    header: b.header.clone(),
                    transactions: b.transactions.clone(),
                }
                .encode(),
            ));
        }
        for (t, r) in [(0, 0), (0, 1), (0, 2), (1, 0)] {
            out.push(("decode_receipt", chain.receipt_bytes(2, t, r)));
        }
        out.push(("decode_receipt", chain.receipt_bytes(1, 0, 0)));
    }
    out
}

fn body(target: &str) -> fn(&[u8]) {
    match target {
        "decode_transaction" => bodies::fuzz_decode_transaction,
        "decode_block" => bodies::fuzz_decode_block,
        "decode_receipt" => bodies::fuzz_decode_receipt,
        other => panic!("unknown fuzz target {other}"),
    }
}

const TARGETS: [&str; 3] = ["decode_transaction", "decode_block", "decode_receipt"];

#[test]
fn fuzz_target_bodies_accept_their_seeds() {
    for (target, seed) in seeds() {
        body(target)(&seed);
    }
    if std::env::var("KEXIN_WRITE_FUZZ_SEEDS").is_ok_and(|v| v == "1") {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
        for (i, (target, seed)) in seeds().into_iter().enumerate() {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(dir.join(format!("seed-{i:03}")), seed).expect("write seed");
        }
    }
}

#[test]
fn fuzz_target_bodies_survive_mutated_fixtures() {
    let seeds = seeds();
    let mut runs = 0usize;
    for (i, (_, seed)) in seeds.iter().enumerate() {
        for (j, input) in mutations(seed, 1500, 0x6b65_7869_6e00 + i as u64)
            .iter()
            .enumerate()
        {
            // Every input goes into every target: a transaction is a fine block prefix, etc.
            for target in TARGETS {
                let run = std::panic::catch_unwind(|| body(target)(input));
                assert!(
                    run.is_ok(),
                    "{target} panicked on mutation {j} of seed {i}: {}",
                    hex(input)
                );
                runs += 1;
            }
        }
    }
    assert!(runs >= 50_000, "{runs} runs");
}

#[test]
fn fuzz_target_bodies_survive_short_random_inputs() {
    let mut rng = Rng::new(0x00c0_ffee);
    for _ in 0..20_000 {
        let len = rng.below(300);
        let input: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        for target in TARGETS {
            body(target)(&input);
        }
    }
}
