//! Contracts end to end through the real binary against a 4-validator consortium made by
//! `kexin net up` (protocol version 5), with contracts compiled by the pinned solc: deploy a
//! token from solc's standard-JSON output, query and call it, decode its events and custom
//! errors with the ABI, and refuse what must be refused (a writer deploying, a reverting call,
//! a bad argument, a file that is not an artifact).

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
    let node = |args: &[&str], identity: Option<&Path>| {
        let mut a: Vec<std::ffi::OsString> = args.iter().map(|s| s.into()).collect();
        a.push("--node".into());
        a.push(url.clone().into());
        if let Some(id) = identity {
            a.push("--identity".into());
            a.push(id.into());
        }
        kexin(a)
    };

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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_deploy_call_and_query_on_an_intl_network() {
    contract_flow("intl").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contracts_deploy_call_and_query_on_a_gm_network() {
    contract_flow("gm").await;
}
