//! The embedded artifacts are what the pinned solc makes of the reference contracts' sources:
//! a stale one (a contract changed without `scripts/build-contracts`) fails here.

#[path = "../../kexin-evm/tests/common/mod.rs"]
mod solc;

#[test]
fn embedded_artifacts_match_their_sources() {
    for (name, embedded, function) in [
        ("Receivables", kexin_apps::receivables().unwrap(), "split"),
        (
            "Traceability",
            kexin_apps::traceability().unwrap(),
            "recall",
        ),
    ] {
        let fresh = solc::reference(name);
        assert_eq!(
            hex::encode(&embedded.bytecode),
            hex::encode(&fresh.bytecode),
            "crates/kexin-apps/contracts/{name}.json is stale: run scripts/build-contracts"
        );
        let abi = &solc::reference_output()["contracts"][format!("{name}.sol")][name]["abi"];
        let fresh_abi: kexin_evm::abi::JsonAbi = serde_json::from_value(abi.clone()).unwrap();
        assert_eq!(embedded.abi, fresh_abi, "{name}");
        assert!(embedded.abi.function(function).is_some(), "{name}");
    }
}
