//! The worked examples of `docs/formats.md` §8.2 and §8.4, checked against the code so the
//! document cannot drift: every `<!-- example: ... -->` JSON block parses as what it claims,
//! serializes back to the same JSON, and every payload kind and governance action has one.

use kexin_crypto::{SigningKey, Suite};
use kexin_types::api::ChainInfo;
use kexin_types::*;
use serde_json::Value;

fn doc() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/formats.md"
    ))
    .expect("docs/formats.md")
}

/// `(name, json text)` of every example block: a `<!-- example: NAME -->` line, then a
/// ```json fence.
fn examples(doc: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(name) = l
            .strip_prefix("<!-- example: ")
            .and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        assert_eq!(
            lines[i + 1],
            "```json",
            "example {name}: a ```json fence follows"
        );
        let body: Vec<&str> = lines[i + 2..]
            .iter()
            .take_while(|l| **l != "```")
            .copied()
            .collect();
        out.push((name.to_owned(), body.join("\n")));
    }
    out
}

fn example(name: &str) -> String {
    examples(&doc())
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("docs/formats.md has no example {name:?}"))
        .1
}

#[test]
fn payload_examples_round_trip_and_cover_every_kind() {
    let mut kinds = std::collections::BTreeSet::new();
    let mut actions = std::collections::BTreeSet::new();
    for (name, text) in examples(&doc()) {
        if !name.starts_with("payload ") {
            continue;
        }
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let payload: Payload =
            serde_json::from_value(json.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        payload.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(serde_json::to_value(&payload).unwrap(), json, "{name}");
        assert_eq!(
            name.split(' ').nth(1),
            Some(payload.kind_name()),
            "{name}: the example's name says its type"
        );
        kinds.insert(payload.kind());
        if let Payload::Propose { action } = &payload {
            assert_eq!(name.split(' ').nth(2), Some(action.kind_name()), "{name}");
            actions.insert(action.kind());
        }
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9]
    );
    assert_eq!(
        actions.into_iter().collect::<Vec<_>>(),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    );
}

/// The commitment example: `kind` is a JSON integer, `digest` the payload digest.
#[test]
fn commitment_example_is_the_vote_examples_commitment() {
    let vote: Payload = serde_json::from_str(&example("payload vote")).unwrap();
    let text = example("commitment vote intl");
    let json: Value = serde_json::from_str(&text).unwrap();
    assert!(json["kind"].is_u64(), "kind is a JSON integer");
    let commitment: PayloadCommitment = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(
        commitment,
        vote.commitment(Suite::Intl),
        "{}",
        serde_json::to_string(&vote.commitment(Suite::Intl)).unwrap()
    );
    assert_eq!(serde_json::to_value(commitment).unwrap(), json);
}

/// The `GET /v1/chain` example is consistent (the checks `kexin verify --genesis` makes) and
/// is the answer for the genesis it holds.
#[test]
fn chain_example_is_consistent() {
    let text = example("chain");
    let info: ChainInfo = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    info.genesis.validate().unwrap();
    assert_eq!(info.genesis.hash(), info.genesis_hash);
    assert_eq!(info.genesis.chain_id, info.chain_id);
    assert_eq!(info.genesis.suite, info.suite);
    // The genesis is the one described: one intl validator of seed 0x42, open chain.
    let key = SigningKey::from_seed(Suite::Intl, &[0x42; 32]).unwrap();
    assert_eq!(info.genesis.validators[0].public_key, key.public_key());
    assert!(!info.genesis.is_permissioned());
    assert_eq!(
        serde_json::to_value(&info).unwrap(),
        serde_json::from_str::<Value>(&text).unwrap()
    );
}

/// §8.5's state proof verifies against §8.5's genesis: slot `keccak256(abi.encode(0x…0b0b0b,
/// 3))` held 250; the §5.12 slot computation agrees; a changed value no longer verifies.
#[test]
fn state_proof_example_verifies_against_its_genesis() {
    use kexin_types::state_receipt::StateReceipt;
    let genesis: kexin_types::Genesis =
        serde_json::from_str(&example("state proof genesis")).expect("the genesis parses");
    let text = example("state proof");
    let proof = StateReceipt::from_json(&text).expect("the state proof parses");
    let v = proof.verify(&genesis).expect("the example verifies");
    let mut word = [0u8; 32];
    word[31] = 250;
    assert_eq!(v.value.as_deref(), Some(&word[..]));
    assert_eq!(v.height, 12);
    let doc = doc();
    assert!(
        doc.contains(&format!("`{}`", hex_slot(&v.key[20..]))),
        "§5.12 names the slot"
    );
    let tampered = text.replace(
        "00000000000000000000000000000000000000000000000000000000000000fa",
        "00000000000000000000000000000000000000000000000000000000000000fb",
    );
    let err = StateReceipt::from_json(&tampered)
        .unwrap()
        .verify(&genesis)
        .unwrap_err();
    assert_eq!(err.code(), "bad_state_proof");
}

fn hex_slot(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}
