//! Contracts end to end through the real binary against a 4-validator consortium made by
//! `kexin net up` (protocol version 5), with contracts compiled by the pinned solc: deploy a
//! token from solc's standard-JSON output, query and call it, decode its events and custom
//! errors with the ABI, and refuse what must be refused (a writer deploying, a reverting call,
//! a bad argument, a file that is not an artifact). A holder's balance is read as a storage
//! slot with its state proof and verified offline against the genesis. The ABI published with
//! a deployment decodes without --abi. On the same network: an out-of-gas loop, the
//! precompiles (SM3, identity, evidence) through a contract, and a counter frozen, unfrozen
//! and upgraded by the consortium's vote.

mod common;

#[path = "../../kexin-evm/tests/common/mod.rs"]
mod solc;

use std::path::Path;

use common::*;
use serde_json::Value;

async fn contract_flow(suite: &str) {
    let mut net = Net::up(suite, 4);
    net.wait_healthy().await;
    contract_scenario(&net);
    net.down().await;
}

fn contract_scenario(net: &Net) {
    let url = net.url(0);
    let d = &net.dir;
    let artifact = net.path("solc-output.json");
    write(&artifact, &serde_json::to_vec(solc::solc_output()).unwrap());
    let admin1 = d.join("org1/admin");
    let admin2 = d.join("org2/admin");
    let node = |args: &[&str], identity: Option<&Path>| kexin_at(&url, args, identity);

    // Deploy as org1's admin, with constructor arguments.
    let out = node(
        &[
            "contract",
            "deploy",
            artifact.to_str().unwrap(),
            "--contract",
            "Token",
            "--json",
            "--args",
            "Kexin Yuan",
            "1000",
        ],
        Some(&admin1),
    );
    let deployed: Value = serde_json::from_str(&ok(&out)).unwrap();
    let token = deployed["address"].as_str().unwrap().to_owned();
    assert!(token.starts_with("0x") && token.len() == 42, "{deployed}");
    assert!(
        deployed["gas_used"].as_u64().unwrap() > 100_000,
        "{deployed}"
    );
    assert!(
        deployed["events"][0]
            .as_str()
            .unwrap()
            .starts_with("Transfer(from: 0x0000000000000000000000000000000000000000"),
        "{deployed}"
    );

    // A consortium takes no bare key: without --identity a call is refused before signing.
    let code = failed(&node(&["contract", "call", &token, "totalSupply()"], None));
    assert_eq!(code, "identity_required");

    // The deployer is msg.sender: owner() returns its derived address.
    let owner = ok(&node(
        &["contract", "query", &token, "owner()(address)"],
        None,
    ));
    let owner = owner.trim().to_owned();
    assert_eq!(owner.len(), 42, "{owner}");
    let balance = |who: &str| {
        ok(&node(
            &[
                "contract",
                "query",
                &token,
                "balanceOf(address)(uint256)",
                who,
            ],
            None,
        ))
        .trim()
        .to_owned()
    };
    assert_eq!(balance(&owner), "1000");
    let name = ok(&node(
        &[
            "contract",
            "query",
            &token,
            "name",
            "--abi",
            artifact.to_str().unwrap(),
            "--contract",
            "Token",
        ],
        None,
    ));
    assert!(name.contains("Kexin Yuan"), "{name}");
    // The ABI was published with the deployment: a function name works without --abi.
    let name = ok(&node(&["contract", "query", &token, "name"], None));
    assert!(name.contains("Kexin Yuan"), "{name}");

    // Call transfer in a transaction; the event is decoded with the ABI.
    // A plain JSON ABI file works as --abi too.
    let abi_file = net.path("Token.abi.json");
    write(
        &abi_file,
        &serde_json::to_vec(&solc::solc_output()["contracts"]["Token.sol"]["Token"]["abi"])
            .unwrap(),
    );
    let bob = "0x00000000000000000000000000000000000b0b0b";
    let out = node(
        &[
            "contract",
            "call",
            &token,
            "transfer(address,uint256)(bool)",
            bob,
            "250",
            "--abi",
            abi_file.to_str().unwrap(),
            "--json",
        ],
        Some(&admin1),
    );
    let called: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(called["outputs"], serde_json::json!(["true"]), "{called}");
    let event = called["events"][0].as_str().unwrap();
    assert!(
        event.starts_with("Transfer(") && event.ends_with("value: 250)"),
        "{event}"
    );
    assert_eq!(balance(&owner), "750");
    assert_eq!(balance(bob), "250");

    // The balances as state proofs: `balanceOf` is the mapping at slot 3 (after `name`,
    // `owner` and `totalSupply`), so a holder's balance is at keccak256(abi.encode(holder, 3)).
    let genesis = net.genesis();
    let verify = |proof: &Path| {
        kexin([
            "verify".as_ref(),
            "--state-proof".as_ref(),
            proof.as_os_str(),
            "--genesis".as_ref(),
            genesis.as_os_str(),
            "--json".as_ref(),
        ])
    };
    let mut proofs = Vec::new();
    for holder in [owner.as_str(), bob] {
        let slot = mapping_slot(holder, 3);
        let proof = net.path(&format!("balance-{holder}.state.json"));
        let read: Value = serde_json::from_str(&ok(&node(
            &[
                "contract",
                "storage",
                &token,
                &slot,
                "--out",
                proof.to_str().unwrap(),
                "--json",
            ],
            None,
        )))
        .unwrap();
        assert_eq!(read["slot"], slot, "{read}");
        assert_eq!(read["empty"], false, "{read}");
        let verified: Value = serde_json::from_str(&ok(&verify(&proof))).unwrap();
        assert_eq!(verified["ok"], true, "{verified}");
        assert_eq!(verified["contract"], token.to_lowercase(), "{verified}");
        assert_eq!(verified["slot"], slot, "{verified}");
        // The proven word is the balance the contract reports.
        assert_eq!(verified["value_decimal"], balance(holder), "{verified}");
        assert_eq!(verified["block_hash"], read["block_hash"], "{verified}");
        proofs.push(proof);
    }
    // The human form says what was proven; the slot may be given in decimal too.
    let out = ok(&kexin([
        "verify".as_ref(),
        "--state-proof".as_ref(),
        proofs[1].as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ]));
    assert!(
        out.contains(&format!("of contract {}", token.to_lowercase())),
        "{out}"
    );
    assert!(out.contains("held 0x") && out.contains("(250)"), "{out}");
    let decimal = ok(&node(&["contract", "storage", &token, "2"], None));
    assert!(
        decimal.contains("(1000)"),
        "totalSupply at slot 2: {decimal}"
    );
    // A holder without tokens: the slot was never written, and that is proven too.
    let nobody = "0x000000000000000000000000000000000000dead";
    let empty = net.path("balance-nobody.state.json");
    let read: Value = serde_json::from_str(&ok(&node(
        &[
            "contract",
            "storage",
            &token,
            &mapping_slot(nobody, 3),
            "--out",
            empty.to_str().unwrap(),
            "--json",
        ],
        None,
    )))
    .unwrap();
    assert_eq!(read["empty"], true, "{read}");
    let verified: Value = serde_json::from_str(&ok(&verify(&empty))).unwrap();
    assert_eq!(verified["empty"], true, "{verified}");
    assert!(verified["value"].is_null(), "{verified}");
    assert_eq!(verified["value_decimal"], "0", "{verified}");
    // A tampered proof fails with its code and a non-zero exit.
    let doc: Value = serde_json::from_slice(&std::fs::read(&proofs[1]).unwrap()).unwrap();
    let tampered = net.path("tampered.state.json");
    let mut richer = doc.clone();
    richer["value_hex"] = format!("{:064x}", 1_000_000u64).into();
    write(&tampered, &serde_json::to_vec(&richer).unwrap());
    let out = verify(&tampered);
    assert_eq!(failed(&out), "bad_state_proof");
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["code"], "bad_state_proof", "{report}");
    let mut moved = doc.clone();
    moved["slot"] = mapping_slot(nobody, 3).into();
    write(&tampered, &serde_json::to_vec(&moved).unwrap());
    assert_eq!(failed(&verify(&tampered)), "state_key_mismatch");
    let mut absent = doc;
    absent["value_hex"] = Value::Null;
    write(&tampered, &serde_json::to_vec(&absent).unwrap());
    assert_eq!(failed(&verify(&tampered)), "bad_state_proof");
    // A state proof is not a receipt.
    let out = kexin([
        "verify".as_ref(),
        "--receipt".as_ref(),
        proofs[0].as_os_str(),
        "--genesis".as_ref(),
        genesis.as_os_str(),
    ]);
    assert_eq!(failed(&out), "usage");
    assert!(stderr(&out).contains("--state-proof"), "{}", stderr(&out));
    // Bad slots are refused before anything is sent.
    let out = node(&["contract", "storage", &token, "0xzz"], None);
    assert_eq!(failed(&out), "invalid_slot");

    // org2's admin has no tokens: the call is final as failed, the custom error named.
    let out = node(
        &[
            "contract",
            "call",
            &token,
            "transfer",
            bob,
            "5",
            "--abi",
            abi_file.to_str().unwrap(),
        ],
        Some(&admin2),
    );
    assert_eq!(failed(&out), "contract_reverted");
    assert!(
        stderr(&out).contains("InsufficientBalance("),
        "{}",
        stderr(&out)
    );
    assert_eq!(balance(bob), "250");

    // The token's logs, decoded with the ABI: the mint and the transfer, in chain order (the
    // reverted call emitted nothing).
    let events = |extra: &[&str]| {
        let mut a = vec!["contract", "events", token.as_str()];
        a.extend_from_slice(extra);
        node(&a, None)
    };
    let abi_args = ["--abi", artifact.to_str().unwrap(), "--contract", "Token"];
    let listed: Value =
        serde_json::from_str(&ok(&events(&[&abi_args[..], &["--json"]].concat()))).unwrap();
    let logs = listed["logs"].as_array().unwrap();
    assert_eq!(logs.len(), 2, "{listed}");
    let (mint, sent) = (&logs[0], &logs[1]);
    let lower = |v: &Value| v.as_str().unwrap().to_lowercase();
    for l in logs {
        assert_eq!(l["name"], "Transfer", "{l}");
        assert_eq!(lower(&l["contract"]), token.to_lowercase(), "{l}");
        assert_eq!(l["log_index"], 0, "{l}");
        assert_eq!(l["org"], "org1", "{l}");
        assert_eq!(l["topics"].as_array().unwrap().len(), 3, "{l}");
    }
    assert_eq!(mint["tx_hash"], deployed["tx_hash"], "{mint}");
    assert_eq!(mint["height"], deployed["height"], "{mint}");
    assert_eq!(
        lower(&mint["args"]["from"]),
        "0x0000000000000000000000000000000000000000"
    );
    assert_eq!(lower(&mint["args"]["to"]), owner.to_lowercase(), "{mint}");
    assert_eq!(mint["args"]["value"], "1000", "{mint}");
    assert_eq!(sent["tx_hash"], called["tx_hash"], "{sent}");
    assert_eq!(sent["height"], called["height"], "{sent}");
    assert_eq!(lower(&sent["args"]["from"]), owner.to_lowercase(), "{sent}");
    assert_eq!(lower(&sent["args"]["to"]), bob, "{sent}");
    assert_eq!(sent["args"]["value"], "250", "{sent}");
    assert_eq!(
        sent["event"].as_str().unwrap(),
        called["events"][0],
        "{sent}"
    );
    // The value is the data word: 250.
    assert_eq!(sent["data"], format!("0x{}fa", "0".repeat(62)), "{sent}");
    // Filtered by topic0: the Transfer signature (by its text, by its name in the ABI, or its
    // hash) from the transfer's block on finds the transfer alone; Approval finds nothing.
    let transfer_topic = mint["topics"][0].as_str().unwrap().to_owned();
    let from_sent = sent["height"].to_string();
    for topic in [
        "Transfer(address,address,uint256)",
        "Transfer",
        transfer_topic.as_str(),
    ] {
        let only: Value = serde_json::from_str(&ok(&events(
            &[
                &abi_args[..],
                &["--topic0", topic, "--from-height", &from_sent, "--json"],
            ]
            .concat(),
        )))
        .unwrap();
        let l = only["logs"].as_array().unwrap();
        assert_eq!(l.len(), 1, "{topic}: {only}");
        assert_eq!(l[0]["tx_hash"], called["tx_hash"], "{topic}: {only}");
    }
    let none: Value = serde_json::from_str(&ok(&events(&[
        "--topic0",
        "Approval(address,address,uint256)",
        "--json",
    ])))
    .unwrap();
    assert_eq!(none["logs"], serde_json::json!([]), "{none}");
    // Without --abi, the ABI published with the deployment decodes them.
    let text = ok(&events(&[]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[1].starts_with(&format!(
            "{} {} ",
            sent["height"],
            sent["tx_hash"].as_str().unwrap()
        )) && lines[1].ends_with("value: 250)"),
        "{text}"
    );
    let text = ok(&events(&abi_args));
    assert!(
        text.lines().nth(1).unwrap().ends_with("value: 250)"),
        "{text}"
    );
    // A token deployed without its ABI: one line per log, with its topics and data.
    let plain: Value = serde_json::from_str(&ok(&node(
        &[
            "contract",
            "deploy",
            artifact.to_str().unwrap(),
            "--contract",
            "Token",
            "--no-abi",
            "--json",
            "--args",
            "Plain",
            "5",
        ],
        Some(&admin1),
    )))
    .unwrap();
    let plain = plain["address"].as_str().unwrap();
    let text = ok(&node(&["contract", "events", plain], None));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains(&format!("topics [0x{transfer_topic}")) && lines[0].contains("data 0x"),
        "{text}"
    );
    let shown: Value =
        serde_json::from_str(&ok(&node(&["contract", "show", plain, "--json"], None))).unwrap();
    assert!(shown.get("abi").is_none(), "{shown}");
    assert!(shown["deploy_tx"].is_string(), "{shown}");
    // A name needs an ABI: without one it is not a signature.
    let out = node(&["contract", "query", plain, "name"], None);
    assert_eq!(failed(&out), "abi_signature", "{}", stderr(&out));
    // A topic0 that is neither hex nor a signature nor an event of the ABI.
    assert_eq!(
        failed(&events(&[&abi_args[..], &["--topic0", "Minted"]].concat())),
        "invalid_topic"
    );

    // A writer may not deploy (contract.deployers = 0 by default).
    let out = node(
        &[
            "contract",
            "deploy",
            artifact.to_str().unwrap(),
            "--contract",
            "Faults",
        ],
        Some(&d.join("org1/writer")),
    );
    assert_eq!(failed(&out), "deploy_not_permitted", "{}", stderr(&out));

    // Bad input is refused before anything is sent.
    let out = node(
        &[
            "contract",
            "query",
            &token,
            "balanceOf(address)(uint256)",
            "0x12",
        ],
        None,
    );
    assert_eq!(failed(&out), "abi_argument");
    assert!(stderr(&out).contains("argument 1"), "{}", stderr(&out));
    let not_json = net.path("not-an-artifact.sol");
    write(&not_json, b"contract X {}");
    let out = node(
        &["contract", "deploy", not_json.to_str().unwrap()],
        Some(&admin1),
    );
    assert_eq!(failed(&out), "artifact_not_json");
    let out = node(
        &[
            "contract",
            "query",
            "0x0000000000000000000000000000000000000042",
            "bump()",
        ],
        None,
    );
    assert_eq!(failed(&out), "not_found");
    assert!(stderr(&out).contains("no contract"), "{}", stderr(&out));

    // The account.
    let show: Value =
        serde_json::from_str(&ok(&node(&["contract", "show", &token, "--json"], None))).unwrap();
    assert_eq!(show["creator_org"], "org1", "{show}");
    assert!(show["code_size"].as_u64().unwrap() > 500, "{show}");
    assert_eq!(show["frozen"], false);
    assert_eq!(show["deploy_tx"], deployed["tx_hash"], "{show}");
    assert_eq!(
        show["deployer"].as_str().unwrap().to_lowercase(),
        owner.to_lowercase(),
        "the deployer is the owner the constructor recorded: {show}"
    );
    let abi_of =
        |v: &Value| -> kexin_evm::abi::JsonAbi { serde_json::from_value(v.clone()).unwrap() };
    assert_eq!(
        abi_of(&show["abi"]),
        abi_of(&solc::solc_output()["contracts"]["Token.sol"]["Token"]["abi"]),
        "the published ABI is the artifact's: {show}"
    );
    let text = ok(&node(&["contract", "show", &token], None));
    assert!(
        text.contains("ABI          published with the deployment"),
        "{text}"
    );

    lifecycle_scenario(net, &node, &artifact, &owner);
}

/// On the same network: an out-of-gas loop, the precompiles through a contract, and a
/// counter frozen, unfrozen and upgraded by the consortium's vote (keeping address and
/// storage).
fn lifecycle_scenario(
    net: &Net,
    node: &dyn Fn(&[&str], Option<&Path>) -> std::process::Output,
    artifact: &Path,
    owner: &str,
) {
    let d = &net.dir;
    let admin = |org: &str| d.join(org).join("admin");
    let artifact = artifact.to_str().unwrap();
    let deploy = |name: &str| -> String {
        let out = node(
            &["contract", "deploy", artifact, "--contract", name, "--json"],
            Some(&admin("org1")),
        );
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        v["address"].as_str().unwrap().to_owned()
    };

    // An unbounded loop runs out of its gas: a failed outcome, nothing else.
    let faults = deploy("Faults");
    let out = node(
        &["contract", "call", &faults, "spin", "--gas", "300000"],
        Some(&admin("org1")),
    );
    assert_eq!(failed(&out), "out_of_gas", "{}", stderr(&out));

    // The precompiles through a contract: SM3, the identity behind an address, an evidence
    // lookup (of a file org1's writer attests now).
    let crypto = deploy("Crypto");
    let query = |args: &[&str]| {
        let mut a = vec!["contract", "query", crypto.as_str()];
        a.extend_from_slice(args);
        ok(&node(&a, None)).trim().to_owned()
    };
    assert_eq!(
        query(&["sm3", "0x616263"]),
        "0x66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    );
    let id = query(&["identityOf", owner]);
    assert!(
        id.starts_with("(true, 0x") && id.contains("\"org1\"") && id.contains("\"admin\""),
        "{id}"
    );
    assert_eq!(
        query(&["callerActsAs", "org1", "admin", "--from", owner]),
        "true"
    );
    assert_eq!(
        query(&["callerActsAs", "org2", "admin", "--from", owner]),
        "false"
    );
    let file = net.path("invoice-7.pdf");
    write(&file, b"%PDF invoice 7 for the precompile");
    let receipt = net.attest(0, &file, &net.path("receipts"));
    let digest = receipt["record"]["digest"].as_str().unwrap();
    let ev = query(&["evidenceOf", &format!("0x{digest}")]);
    assert!(
        ev.starts_with("(true, 1, ") && ev.contains("\"org1\""),
        "{ev}"
    );
    let none = query(&["evidenceOf", &format!("0x{}", "ab".repeat(32))]);
    assert!(none.starts_with("(false, 0, 0, "), "{none}");

    // A counter, frozen by vote: calls fail, its storage stays provable; unfrozen; then
    // upgraded to new code at the same address with the same storage.
    let counter = deploy("CounterV1");
    let inc = || node(&["contract", "call", &counter, "inc"], Some(&admin("org2")));
    ok(&inc());
    let value = || query_at(node, &counter, "value()(uint256)");
    assert_eq!(value(), "1");
    let pass = |action: &[&str]| {
        let mut a = vec!["gov", "propose"];
        a.extend_from_slice(action);
        a.push("--json");
        let proposed: Value = serde_json::from_str(&ok(&node(&a, Some(&admin("org1"))))).unwrap();
        let id = proposed["id"].as_str().unwrap().to_owned();
        let mut last = Value::Null;
        for org in ["org2", "org3"] {
            let vote = ["gov", "vote", "--proposal", id.as_str(), "--yes", "--json"];
            last = serde_json::from_str(&ok(&node(&vote, Some(&admin(org))))).unwrap();
        }
        assert_eq!(last["state"], "passed", "{last}");
    };
    pass(&["freeze-contract", "--contract", &counter]);
    assert_eq!(failed(&inc()), "contract_frozen");
    let slot = ok(&node(&["contract", "storage", &counter, "0"], None));
    assert!(slot.contains("0000000000000001 (1)"), "{slot}");
    pass(&["unfreeze-contract", "--contract", &counter]);
    ok(&inc());
    assert_eq!(value(), "2");
    pass(&[
        "upgrade-contract",
        "--contract",
        &counter,
        "--artifact",
        artifact,
        "--name",
        "CounterV2",
    ]);
    ok(&inc());
    assert_eq!(value(), "12", "CounterV2 adds 10 to the kept storage");
    assert_eq!(query_at(node, &counter, "version()(uint256)"), "2");

    // Named by the consortium, the counter is found by its name.
    pass(&["name-contract", "--name", "counter", "--contract", &counter]);
    assert_eq!(query_at(node, "counter", "version()(uint256)"), "2");
    let shown: Value =
        serde_json::from_str(&ok(&node(&["contract", "show", "counter", "--json"], None))).unwrap();
    assert_eq!(shown["address"], counter.to_lowercase(), "{shown}");
    let out = node(&["contract", "query", "nosuch", "version()(uint256)"], None);
    assert_eq!(failed(&out), "unknown_name", "{}", stderr(&out));
    let out = node(
        &["contract", "query", "Not_A_Name", "version()(uint256)"],
        None,
    );
    assert_eq!(failed(&out), "invalid_address", "{}", stderr(&out));
}

fn query_at(
    node: &dyn Fn(&[&str], Option<&Path>) -> std::process::Output,
    contract: &str,
    signature: &str,
) -> String {
    ok(&node(&["contract", "query", contract, signature], None))
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_deploy_call_and_query_on_an_intl_network() {
    contract_flow("intl").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_deploy_call_and_query_on_a_gm_network() {
    contract_flow("gm").await;
}

/// The storage slot of key `key` (an address) in a `mapping(address => ...)` at slot `p`:
/// keccak256(abi.encode(key, p)), as `0x` and 64 hex digits.
/// On a chain without organisations any key deploys and calls: `--key FILE` signs;
/// `--identity` is refused there, and a consortium without `--identity` is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_on_an_open_chain_are_signed_with_a_bare_key() {
    let mut node = TestNode::init("intl");
    node.start().await;
    let url = node.url.clone();
    let artifact = node.path("solc-output.json");
    write(&artifact, &serde_json::to_vec(solc::solc_output()).unwrap());
    let key = node.client_key();
    let deployed: Value = serde_json::from_str(&ok(&kexin([
        "contract",
        "deploy",
        artifact.to_str().unwrap(),
        "--contract",
        "Token",
        "--json",
        "--node",
        &url,
        "--key",
        key.to_str().unwrap(),
        "--args",
        "Open Yuan",
        "500",
    ])))
    .unwrap();
    let token = deployed["address"].as_str().unwrap().to_owned();
    let to = "0x00000000000000000000000000000000000b0b0b";
    ok(&kexin([
        "contract",
        "call",
        &token,
        "transfer(address,uint256)",
        to,
        "20",
        "--node",
        &url,
        "--key",
        key.to_str().unwrap(),
    ]));
    let balance = ok(&kexin([
        "contract",
        "query",
        &token,
        "balanceOf(address)(uint256)",
        to,
        "--node",
        &url,
    ]));
    assert_eq!(balance.trim(), "20");
    // An identity means nothing on an open chain.
    let refused = failed(&kexin([
        "contract",
        "call",
        &token,
        "transfer(address,uint256)",
        to,
        "1",
        "--node",
        &url,
        "--identity",
        node.path("nobody").to_str().unwrap(),
    ]));
    assert_eq!(refused, "no_organisations");
}

fn mapping_slot(key: &str, p: u8) -> String {
    let address = hex::decode(key.trim_start_matches("0x")).unwrap();
    assert_eq!(address.len(), 20, "{key}");
    let mut preimage = [0u8; 64];
    preimage[12..32].copy_from_slice(&address);
    preimage[63] = p;
    format!("0x{}", hex::encode(keccak256(&preimage)))
}

/// Keccak-256 (Ethereum's, with the original padding), for the test to compute slots on its
/// own rather than with the code under test.
fn keccak256(data: &[u8]) -> [u8; 32] {
    const RATE: usize = 136;
    let mut msg = data.to_vec();
    msg.push(0x01);
    while !msg.len().is_multiple_of(RATE) {
        msg.push(0);
    }
    *msg.last_mut().unwrap() |= 0x80;
    let mut s = [0u64; 25];
    for block in msg.chunks(RATE) {
        for (lane, bytes) in s.iter_mut().zip(block.chunks(8)) {
            *lane ^= u64::from_le_bytes(bytes.try_into().unwrap());
        }
        keccak_f(&mut s);
    }
    let mut out = [0u8; 32];
    for (chunk, lane) in out.chunks_mut(8).zip(&s) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// The Keccak-f[1600] permutation.
fn keccak_f(a: &mut [u64; 25]) {
    const RC: [u64; 24] = [
        0x0000000000000001,
        0x0000000000008082,
        0x800000000000808a,
        0x8000000080008000,
        0x000000000000808b,
        0x0000000080000001,
        0x8000000080008081,
        0x8000000000008009,
        0x000000000000008a,
        0x0000000000000088,
        0x0000000080008009,
        0x000000008000000a,
        0x000000008000808b,
        0x800000000000008b,
        0x8000000000008089,
        0x8000000000008003,
        0x8000000000008002,
        0x8000000000000080,
        0x000000000000800a,
        0x800000008000000a,
        0x8000000080008081,
        0x8000000000008080,
        0x0000000080000001,
        0x8000000080008008,
    ];
    const RHO: [u32; 24] = [
        1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
    ];
    const PI: [usize; 24] = [
        10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
    ];
    for rc in RC {
        let c: [u64; 5] =
            std::array::from_fn(|x| a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20]);
        for x in 0..5 {
            let d = c[(x + 4) % 5] ^ c[(x + 1) % 5].rotate_left(1);
            for y in 0..5 {
                a[x + 5 * y] ^= d;
            }
        }
        let mut last = a[1];
        for (&pi, &rho) in PI.iter().zip(&RHO) {
            let next = a[pi];
            a[pi] = last.rotate_left(rho);
            last = next;
        }
        for y in 0..5 {
            let row: [u64; 5] = std::array::from_fn(|x| a[5 * y + x]);
            for x in 0..5 {
                a[5 * y + x] = row[x] ^ (!row[(x + 1) % 5] & row[(x + 2) % 5]);
            }
        }
        a[0] ^= rc;
    }
}

#[test]
fn keccak256_matches_the_evm() {
    assert_eq!(keccak256(b""), kexin_evm::KECCAK_EMPTY.0);
    assert_eq!(
        hex::encode(keccak256(b"abc")),
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    );
    // Two blocks: 136 bytes need a second block for the padding.
    assert_eq!(
        hex::encode(keccak256(&[0; 136])),
        "3a5912a7c5faa06ee4fe906253e339467a9ce87d533c65be3c15cb231cdb25f9"
    );
}
