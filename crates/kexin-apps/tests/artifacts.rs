//! The embedded artifacts are what the pinned solc makes of the reference contracts' sources:
//! a stale one (a contract changed without `scripts/build-contracts`) fails here.

#[path = "../../kexin-evm/tests/common/mod.rs"]
mod solc;

#[test]
fn embedded_artifacts_match_their_sources() {
    let embedded = kexin_apps::receivables().unwrap();
    let fresh = solc::reference("Receivables");
    assert_eq!(
        hex::encode(&embedded.bytecode),
        hex::encode(&fresh.bytecode),
        "crates/kexin-apps/contracts/Receivables.json is stale: run scripts/build-contracts"
    );
    let abi = &solc::reference_output()["contracts"]["Receivables.sol"]["Receivables"]["abi"];
    let fresh_abi: kexin_evm::abi::JsonAbi = serde_json::from_value(abi.clone()).unwrap();
    assert_eq!(embedded.abi, fresh_abi);
    assert!(embedded.abi.function("split").is_some());
}
