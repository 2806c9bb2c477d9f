//! Deterministic simulation of a Kexin consortium: four (or seven) validators, each the real
//! consensus engine over a real ledger and mempool, on commonware's deterministic runtime and
//! simulated network, with clients submitting evidence transactions throughout.
//!
//! Each scenario runs over several seeds (`KEXIN_SIM_SEEDS=N` runs seeds `0..N`,
//! `KEXIN_SIM_SEEDS=a..b` a range, `KEXIN_SIM_SEEDS=3,17` a list) and, once the clients stop
//! and the cluster settles, checks that
//!
//! * (a) every height holds the same block on every validator that committed it;
//! * (b) every honest validator reaches the same head and state root;
//! * (c) every acknowledged transaction is committed exactly once everywhere, and nothing else;
//! * (d) every stored certificate verifies offline against the genesis;
//! * (e) with contract calls (a solc-compiled counter), every validator's counter equals the
//!   calls acknowledged, and every outcome is a success with the same outcomes root;
//!
//! and, with a Byzantine validator, that its spoiled blocks never enter an honest ledger and are
//! refused for the right reason. A failure names the scenario and the seed; rerun one seed with
//! `KEXIN_SIM_SEEDS=<seed>..<seed+1> RUST_LOG=debug cargo test -p kexin-node --test simulation
//! <scenario> -- --nocapture`.

mod sim;
#[path = "../../kexin-evm/tests/common/mod.rs"]
mod solc;

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};

use sim::{Event, Gm, Intl, LinkSpec, Role, Scenario, SimSuite};

/// The seeds to run: `default` of them unless `KEXIN_SIM_SEEDS` says otherwise.
fn seeds(default: u64) -> Vec<u64> {
    let Ok(spec) = std::env::var("KEXIN_SIM_SEEDS") else {
        return (0..default).collect();
    };
    let spec = spec.trim();
    let parse = |s: &str| -> u64 {
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("KEXIN_SIM_SEEDS: {s:?} is not a number"))
    };
    if let Some((a, b)) = spec.split_once("..") {
        (parse(a)..parse(b)).collect()
    } else if spec.contains(',') {
        spec.split(',').map(parse).collect()
    } else {
        (0..parse(spec)).collect()
    }
}

fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Runs `build(seed)` for every seed, prints a summary line per run, and fails at the end
/// with every failing seed (a failure does not hide the seeds after it).
fn sweep<S: SimSuite>(default_seeds: u64, build: impl Fn(u64) -> Scenario) {
    init_tracing();
    let mut failures = Vec::new();
    let mut name = String::new();
    for seed in seeds(default_seeds) {
        let scenario = build(seed);
        name.clone_from(&scenario.name);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            sim::run::<S>(&scenario, seed)
        }));
        match run {
            Ok(outcome) => println!(
                "{:<24} seed {:>3}: height {:>4}, {:>4} txs, simulated {:>5.1}s, wall {:>5.2}s, \
                 refusals {:>3} (+{} retried), tampered {:>3}",
                scenario.name,
                outcome.seed,
                outcome.height,
                outcome.txs,
                outcome.simulated.as_secs_f64(),
                outcome.wall.as_secs_f64(),
                outcome.refusals,
                outcome.internal_failures,
                outcome.tampered,
            ),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_else(|| "non-string panic".into());
                println!("{:<24} seed {seed:>3}: FAILED", scenario.name);
                failures.push((seed, message));
            }
        }
    }
    if !failures.is_empty() {
        let seeds: Vec<u64> = failures.iter().map(|(s, _)| *s).collect();
        let details: Vec<String> = failures
            .iter()
            .map(|(seed, m)| format!("--- seed {seed}:\n{m}"))
            .collect();
        panic!(
            "{name}: {} failing seed(s) {seeds:?}\n{}",
            failures.len(),
            details.join("\n")
        );
    }
}

fn rng(seed: u64, salt: u64) -> StdRng {
    StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt)
}

/// Links with some latency and jitter, no loss.
fn good_links() -> LinkSpec {
    LinkSpec {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(20),
        success_percent: 100,
    }
}

fn all_online(n: usize, seed: u64) -> Scenario {
    let _ = seed;
    Scenario::new(
        format!("all_online_{n}"),
        n,
        good_links(),
        Duration::from_secs(10),
    )
}

#[test]
fn all_online_intl() {
    sweep::<Intl>(8, |seed| all_online(4, seed));
}

#[test]
fn all_online_gm() {
    sweep::<Gm>(4, |seed| all_online(4, seed));
}

/// A chain started at protocol version 4: blocks carry outcomes roots that every validator
/// recomputes, across epoch boundaries.
#[test]
fn all_online_protocol_v4() {
    sweep::<Intl>(2, |seed| Scenario {
        protocol_version: kexin_types::protocol::V4,
        ..all_online(4, seed)
    });
}

/// Contract transactions (a solc-compiled counter deployed and called) among the evidence,
/// across a partition and a crash: every validator executes the same calls to the same
/// counter.
#[test]
fn contract_calls_under_partition_and_crash() {
    sweep::<Intl>(2, |seed| {
        let mut r = rng(seed, 7);
        let victim = r.random_range(0..4usize);
        let mut s = Scenario::new("contract_calls", 4, good_links(), Duration::from_secs(14));
        s.contract_calls = true;
        s.events = vec![
            (Duration::from_secs(3), Event::Isolate(vec![victim])),
            (Duration::from_secs(6), Event::Heal),
            (Duration::from_secs(8), Event::Crash(victim)),
            (Duration::from_secs(10), Event::Restart(victim)),
        ];
        s.settle_limit = Duration::from_secs(90);
        s
    });
}

#[test]
fn contract_calls_gm() {
    sweep::<Gm>(1, |seed| Scenario {
        contract_calls: true,
        ..all_online(4, seed)
    });
}

#[test]
fn all_online_seven_validators() {
    sweep::<Intl>(3, |seed| all_online(7, seed));
}

/// Links dropping 2–10% of messages, with heavy jitter.
#[test]
fn lossy_links() {
    sweep::<Intl>(8, |seed| {
        let mut r = rng(seed, 1);
        let link = LinkSpec {
            latency: Duration::from_millis(r.random_range(40..120)),
            jitter: Duration::from_millis(r.random_range(20..60)),
            success_percent: r.random_range(90..=98),
        };
        let mut s = Scenario::new("lossy_links", 4, link, Duration::from_secs(10));
        s.settle_limit = Duration::from_secs(120);
        s
    });
}

/// One or two validators cut off for a while, then the network heals. With two of four cut
/// off nobody has a quorum until it heals.
#[test]
fn partition_and_heal() {
    sweep::<Intl>(8, |seed| {
        let mut r = rng(seed, 2);
        let size = r.random_range(1..=2usize);
        let first = r.random_range(0..4usize);
        let isolated: Vec<usize> = (0..size).map(|k| (first + k) % 4).collect();
        let start = Duration::from_millis(r.random_range(2_000..5_000));
        let length = Duration::from_millis(r.random_range(3_000..8_000));
        let mut s = Scenario::new(
            format!("partition_{size}_of_4"),
            4,
            good_links(),
            start + length + Duration::from_secs(4),
        );
        s.events = vec![
            (start, Event::Isolate(isolated)),
            (start + length, Event::Heal),
        ];
        s.settle_limit = Duration::from_secs(90);
        s
    });
}

/// One validator crashes (its tasks aborted mid-flight) and restarts on its storage, twice.
#[test]
fn crash_and_restart_one() {
    sweep::<Intl>(8, |seed| {
        let mut r = rng(seed, 3);
        let victim = r.random_range(0..4usize);
        let mut events = Vec::new();
        let mut t = Duration::ZERO;
        for _ in 0..2 {
            t += Duration::from_millis(r.random_range(1_500..4_000));
            events.push((t, Event::Crash(victim)));
            t += Duration::from_millis(r.random_range(500..4_000));
            events.push((t, Event::Restart(victim)));
        }
        let mut s = Scenario::new(
            "crash_restart_one",
            4,
            good_links(),
            t + Duration::from_secs(3),
        );
        s.events = events;
        s
    });
}

/// The whole cluster stops uncleanly (the runtime is dropped; unsynced engine writes are lost,
/// ledgers keep what they committed) and recovers from the checkpoint, twice.
#[test]
fn crash_and_recover_all() {
    sweep::<Intl>(6, crash_and_recover_all_scenario);
}

#[test]
fn crash_and_recover_all_gm() {
    sweep::<Gm>(2, |seed| {
        let mut s = crash_and_recover_all_scenario(seed);
        s.name = "crash_recover_all_gm".into();
        s
    });
}

fn crash_and_recover_all_scenario(seed: u64) -> Scenario {
    let mut r = rng(seed, 4);
    let first = Duration::from_millis(r.random_range(1_000..4_000));
    let second = first + Duration::from_millis(r.random_range(1_000..4_000));
    let mut s = Scenario::new(
        "crash_recover_all",
        4,
        good_links(),
        second + Duration::from_secs(4),
    );
    s.cluster_restarts = vec![first, second];
    s
}

/// The whole cluster stops uncleanly just after the last submission, while the last blocks are
/// in flight; more transactions arrive 20 s later.
fn crash_recover_settling(seed: u64, traffic_resumes: bool) -> Scenario {
    let mut r = rng(seed, 7);
    let submit = Duration::from_secs(4);
    let mut s = Scenario::new("crash_recover_settling", 4, good_links(), submit);
    s.cluster_restarts = vec![submit + Duration::from_millis(r.random_range(0..500))];
    if traffic_resumes {
        s.events = vec![(submit + Duration::from_secs(20), Event::Submit(3))];
    } else {
        s.name = "crash_recover_quiet".into();
    }
    s
}

/// Two validators are cut off just after the last submission, for 3 s, so the last blocks may
/// be notarized without being finalized; more transactions arrive 20 s later.
fn partition_settling(seed: u64, traffic_resumes: bool) -> Scenario {
    let mut r = rng(seed, 8);
    let submit = Duration::from_secs(4);
    let cut = submit + Duration::from_millis(r.random_range(0..400));
    let first = r.random_range(0..4usize);
    let mut s = Scenario::new("partition_settling", 4, good_links(), submit);
    s.events = vec![
        (cut, Event::Isolate(vec![first, (first + 1) % 4])),
        (cut + Duration::from_secs(3), Event::Heal),
    ];
    if traffic_resumes {
        s.events
            .push((cut + Duration::from_secs(20), Event::Submit(3)));
    } else {
        s.name = "partition_quiet".into();
    }
    s
}

#[test]
fn crash_recover_all_while_settling() {
    sweep::<Intl>(5, |seed| crash_recover_settling(seed, true));
}

#[test]
fn partition_while_settling() {
    sweep::<Intl>(5, |seed| partition_settling(seed, true));
}

/// As above with no traffic afterwards: the last transactions must still be finalized, by the
/// empty block a leader proposes on a tip that is notarized but not final.
#[test]
fn quiet_chain_after_crash_finalizes_its_tip() {
    sweep::<Intl>(5, |seed| crash_recover_settling(seed, false));
}

#[test]
fn quiet_chain_after_partition_finalizes_its_tip() {
    sweep::<Intl>(5, |seed| partition_settling(seed, false));
}

/// Each transaction reaches only some validators' mempools (lossy gossip, a client talking to
/// one node), so a leader often holds a signer's nonce k+1 without k: it must wait for k
/// rather than turn it into a replay, and every acknowledged transaction must still commit.
#[test]
fn partial_admission() {
    sweep::<Intl>(6, |_seed| {
        let mut s = Scenario::new(
            "partial_admission",
            4,
            good_links(),
            Duration::from_secs(10),
        );
        s.admit_percent = 40;
        s
    });
}

#[test]
fn partial_admission_gm() {
    sweep::<Gm>(2, |_seed| {
        let mut s = Scenario::new(
            "partial_admission_gm",
            4,
            good_links(),
            Duration::from_secs(8),
        );
        s.admit_percent = 40;
        s
    });
}

fn byzantine(name: &str, role: Role, seed: u64) -> Scenario {
    let mut r = rng(seed, 5);
    let mut s = Scenario::new(
        format!("byzantine_{name}"),
        4,
        good_links(),
        Duration::from_secs(12),
    );
    s.roles[r.random_range(0..4usize)] = role;
    s
}

#[test]
fn byzantine_conflicter() {
    sweep::<Intl>(5, |seed| byzantine("conflicter", Role::Conflicter, seed));
}

#[test]
fn byzantine_equivocator() {
    sweep::<Intl>(5, |seed| byzantine("equivocator", Role::Equivocator, seed));
}

#[test]
fn byzantine_nuller() {
    sweep::<Intl>(4, |seed| byzantine("nuller", Role::Nuller, seed));
}

/// A validator whose every proposal is spoiled: a wrong state root, a transaction with a bad
/// signature, or a replayed nonce.
#[test]
fn byzantine_tamperer_intl() {
    sweep::<Intl>(6, |seed| byzantine("tamperer", Role::Tamperer, seed));
}

#[test]
fn byzantine_tamperer_gm() {
    sweep::<Gm>(3, |seed| byzantine("tamperer_gm", Role::Tamperer, seed));
}

/// A validator that starts only once the others have committed a few hundred blocks: it
/// catches up through marshal's backfill.
#[test]
fn late_joiner_catches_up() {
    sweep::<Intl>(3, |seed| {
        let mut r = rng(seed, 6);
        let mut s = Scenario::new("late_joiner", 4, good_links(), Duration::ZERO);
        s.roles[r.random_range(0..4usize)] = Role::Late { after_height: 250 };
        s.tx_interval = Duration::from_millis(50);
        s.txs_per_interval = 2;
        s.leader_timeout = Duration::from_millis(500);
        s.settle_limit = Duration::from_secs(120);
        s
    });
}
