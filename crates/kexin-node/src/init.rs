//! `kexin node init` and `kexin net up`: a fresh chain in a directory — one validator, or a
//! local network of N validators sharing one genesis, each in its own node directory.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use kexin_crypto::{PublicKey, SigningKey, Suite};
use kexin_pki::Role;
use kexin_types::{CertDer, Genesis, Organisation, Validator};

use crate::ca::{self, OrgCa};
use crate::config::{NodeConfig, PeerConfig};
use crate::layout;

/// The suite every tool that makes a chain or a key uses when none is given (`kexin node
/// init`, `kexin net up`, `kexin bench`, `kexin keys new`, `scripts/quickstart`): `intl`.
/// (A genesis always names its suite; this is no default of the format.)
pub const DEFAULT_SUITE: Suite = Suite::Intl;

/// What to create.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The node directory (created if missing; must not hold a genesis yet).
    pub dir: PathBuf,
    /// The chain's suite.
    pub suite: Suite,
    /// The chain id; default `kexin-local-<8 hex>`.
    pub chain_id: Option<String>,
    /// Where the API listens.
    pub api_addr: SocketAddr,
}

/// What was created.
#[derive(Clone, Debug)]
pub struct InitReport {
    /// The chain id.
    pub chain_id: String,
    /// `DIR/genesis.json`.
    pub genesis_path: PathBuf,
    /// `DIR/config.toml`.
    pub config_path: PathBuf,
    /// The validator's public key.
    pub validator_key: PublicKey,
    /// A client key for attesting, `DIR/keys/client.pem`.
    pub client_key_path: PathBuf,
}

/// Writes a PEM private key readable only by its owner; refuses to overwrite.
pub fn write_key(path: &Path, key: &SigningKey) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    f.write_all(key.to_pkcs8_pem().as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Creates genesis, configuration and keys for a one-validator chain in `opts.dir`.
pub fn init(opts: &InitOptions) -> anyhow::Result<InitReport> {
    let dir = &opts.dir;
    let genesis_path = dir.join(layout::GENESIS);
    if genesis_path.exists() {
        anyhow::bail!(
            "{} already exists: {} is already initialised",
            genesis_path.display(),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let chain_id = chain_id_or_random(opts.chain_id.as_deref(), "kexin-local")?;

    let validator = SigningKey::generate(opts.suite);
    let client = SigningKey::generate(opts.suite);
    let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    let genesis = Genesis {
        version: kexin_types::FORMAT_VERSION,
        epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
        chain_id: chain_id.clone(),
        suite: opts.suite,
        timestamp_ms,
        organisations: vec![],
        validators: vec![Validator {
            name: "node0".into(),
            org: String::new(),
            public_key: validator.public_key(),
            address: String::new(),
        }],
    };
    genesis.validate().map_err(|e| anyhow::anyhow!("{e}"))?;

    write_key(&dir.join(layout::VALIDATOR_KEY), &validator)?;
    let client_key_path = dir.join(layout::CLIENT_KEY);
    write_key(&client_key_path, &client)?;
    let mut config = NodeConfig::default();
    config.api.listen = opts.api_addr;
    // A single validator has no peers to be dialled by: any free port will do.
    config.network.listen = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let config_path = dir.join(layout::CONFIG);
    std::fs::write(&config_path, config.to_toml())?;
    // Genesis last: its presence marks a complete init.
    std::fs::write(&genesis_path, genesis.to_json())?;
    Ok(InitReport {
        chain_id,
        genesis_path,
        config_path,
        validator_key: validator.public_key(),
        client_key_path,
    })
}

/// The given chain id, or `<prefix>-<8 random hex digits>`; validated either way.
fn chain_id_or_random(given: Option<&str>, prefix: &str) -> anyhow::Result<String> {
    let chain_id = match given {
        Some(c) => c.to_owned(),
        None => {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            format!("{prefix}-{}", hex::encode(b))
        }
    };
    kexin_types::validate_chain_id(&chain_id).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(chain_id)
}

/// What [`init_network`] creates: a local network of validators.
#[derive(Clone, Debug)]
pub struct NetInitOptions {
    /// The network directory (created if missing; must not hold a `genesis.json` yet). Node
    /// `i` lives in `DIR/node-{i}`.
    pub dir: PathBuf,
    /// How many validators: `1..=MAX_VALIDATORS`.
    pub nodes: usize,
    /// The chain's suite.
    pub suite: Suite,
    /// The chain id; default `kexin-net-<8 hex>`.
    pub chain_id: Option<String>,
    /// The address every node's API and p2p listener bind to (default 127.0.0.1).
    pub host: IpAddr,
    /// Node `i`'s API listens on `api_base_port + i`; 0 picks N free ports instead.
    pub api_base_port: u16,
    /// Node `i`'s p2p listener binds `p2p_base_port + i`; 0 picks N free ports instead.
    pub p2p_base_port: u16,
    /// Read-only nodes after the validators (`node-{nodes}` ...): keys not in the genesis,
    /// listed as observers in every node's configuration.
    pub observers: usize,
    /// Make an open chain: no organisations, so any key may submit evidence and no
    /// certificates are checked. For development and benchmarks only.
    pub open: bool,
    /// Blocks per consensus epoch (validator changes take effect at the next epoch).
    pub epoch_length: u64,
    /// The protocol version the chain starts at (default [`kexin_types::FORMAT_VERSION`]; 3
    /// for a consortium whose members still run version 3 binaries, which then upgrades by
    /// vote).
    pub protocol_version: u8,
}

impl NetInitOptions {
    /// `nodes` validators in `dir` on 127.0.0.1, with free ports and a random chain id.
    pub fn new(dir: impl Into<PathBuf>, nodes: usize, suite: Suite) -> NetInitOptions {
        NetInitOptions {
            dir: dir.into(),
            nodes,
            suite,
            chain_id: None,
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            api_base_port: 0,
            p2p_base_port: 0,
            observers: 0,
            open: false,
            epoch_length: kexin_types::limits::DEFAULT_EPOCH_LENGTH,
            protocol_version: kexin_types::FORMAT_VERSION,
        }
    }
}

/// What [`init_network`] created; the vectors are indexed by node.
#[derive(Clone, Debug)]
pub struct NetInitReport {
    /// The chain id.
    pub chain_id: String,
    /// `DIR/genesis.json`, the genesis every node shares.
    pub genesis_path: PathBuf,
    /// `DIR/node-{i}`.
    pub node_dirs: Vec<PathBuf>,
    /// Node `i`'s validator public key (validator `i` of the genesis).
    pub validator_keys: Vec<PublicKey>,
    /// Where node `i`'s REST API listens.
    pub api_addrs: Vec<SocketAddr>,
    /// Where node `i`'s p2p listener binds.
    pub p2p_addrs: Vec<SocketAddr>,
    /// `DIR/org{k}` for organisation `k` = 1..=nodes (empty for an open chain).
    pub org_dirs: Vec<PathBuf>,
}

/// The organisation operating validator `index` of a network made by [`init_network`]:
/// `org{index + 1}`.
pub fn net_org_name(index: usize) -> String {
    format!("org{}", index + 1)
}

/// The directory of node `index` inside a network directory made by [`init_network`].
fn net_node_dir(net_dir: &Path, index: usize) -> PathBuf {
    net_dir.join(format!("node-{index}"))
}

/// `n` ports on `host`: `base..base+n`, or, with `base` 0, free ports chosen by the OS. Free
/// ports are found by binding `host:0` listeners; `held` keeps them bound so that later
/// choices cannot repeat earlier ones (the caller drops them once every port is chosen).
fn choose_ports(
    host: IpAddr,
    base: u16,
    n: usize,
    what: &str,
    held: &mut Vec<TcpListener>,
) -> anyhow::Result<Vec<u16>> {
    if base == 0 {
        let mut ports = Vec::with_capacity(n);
        for _ in 0..n {
            let l = TcpListener::bind(SocketAddr::new(host, 0))
                .with_context(|| format!("cannot find a free {what} port on {host}"))?;
            ports.push(l.local_addr()?.port());
            held.push(l);
        }
        return Ok(ports);
    }
    let last = u32::from(base) + n as u32 - 1;
    if last > u32::from(u16::MAX) {
        anyhow::bail!("{what} ports {base}..={last} go beyond 65535");
    }
    Ok((0..n as u16).map(|i| base + i).collect())
}

/// Creates a network of `opts.nodes` validators in `opts.dir`: the shared `genesis.json`,
/// and for each node `i` the directory `node-{i}` with a copy of the genesis, its own
/// validator and client keys, and a `config.toml` whose `network.peers` lists every validator
/// at its p2p address.
///
/// Unless `opts.open`, the network is a consortium: validator `i` is operated by organisation
/// `org{i+1}` ([`net_org_name`]), and each organisation gets, in `DIR/org{k}`:
///
/// * its CA ([`OrgCa`]): `ca.pem` (self-signed, ten years) and `ca-key.pem` (mode 0600),
///   listed in the genesis;
/// * two identities, `admin/` (role admin) and `writer/` (role writer), each a `cert.pem`
///   and `key.pem`, valid one year;
/// * `issued/<name>/<serial>.pem`, the record of every certificate its CA issued.
///
/// Every node also gets a node certificate (role node) for its validator key, in
/// `node-{i}/keys/node-cert.pem`, issued by its organisation (observers: by `org1`).
pub fn init_network(opts: &NetInitOptions) -> anyhow::Result<NetInitReport> {
    let dir = &opts.dir;
    let n = opts.nodes;
    let max = kexin_types::limits::MAX_VALIDATORS as usize;
    if n == 0 || n > max {
        anyhow::bail!("a network needs 1..={max} nodes, not {n}");
    }
    let genesis_path = dir.join(layout::GENESIS);
    if genesis_path.exists() {
        anyhow::bail!(
            "{} already exists: {} is already initialised",
            genesis_path.display(),
            dir.display()
        );
    }
    let total = n + opts.observers;
    let node_dirs: Vec<PathBuf> = (0..total).map(|i| net_node_dir(dir, i)).collect();
    let org_names: Vec<String> = if opts.open {
        Vec::new()
    } else {
        (0..n).map(net_org_name).collect()
    };
    let org_dirs: Vec<PathBuf> = org_names.iter().map(|o| dir.join(o)).collect();
    // Check every node and organisation directory before writing anything, so a refusal
    // leaves no half-made network behind.
    let mut must_not_exist = Vec::new();
    for d in &node_dirs {
        for f in [
            layout::GENESIS,
            layout::CONFIG,
            layout::VALIDATOR_KEY,
            layout::CLIENT_KEY,
            ca::NODE_CERT,
        ] {
            must_not_exist.push((d.join(f), d));
        }
    }
    for d in &org_dirs {
        for f in [ca::CA_CERT, ca::CA_KEY, ca::ISSUED, "admin", "writer"] {
            must_not_exist.push((d.join(f), d));
        }
    }
    for (p, d) in must_not_exist {
        if p.exists() {
            anyhow::bail!(
                "{} already exists: remove {} first",
                p.display(),
                d.display()
            );
        }
    }
    let chain_id = chain_id_or_random(opts.chain_id.as_deref(), "kexin-net")?;

    let (api_ports, p2p_ports) = {
        let mut held = Vec::new();
        let api = choose_ports(opts.host, opts.api_base_port, total, "API", &mut held)?;
        let p2p = choose_ports(opts.host, opts.p2p_base_port, total, "p2p", &mut held)?;
        (api, p2p)
    };
    if let Some(p) = api_ports.iter().find(|p| p2p_ports.contains(p)) {
        anyhow::bail!("port {p} is both an API and a p2p port: choose base ports further apart");
    }
    let api_addrs: Vec<SocketAddr> = api_ports
        .iter()
        .map(|&p| SocketAddr::new(opts.host, p))
        .collect();
    let p2p_addrs: Vec<SocketAddr> = p2p_ports
        .iter()
        .map(|&p| SocketAddr::new(opts.host, p))
        .collect();

    let node_keys: Vec<SigningKey> = (0..total)
        .map(|_| SigningKey::generate(opts.suite))
        .collect();
    let validators = &node_keys[..n];
    let cas: Vec<OrgCa> = org_names
        .iter()
        .zip(&org_dirs)
        .map(|(name, d)| OrgCa::generate(d, name, opts.suite, ca::CA_VALIDITY_DAYS))
        .collect::<anyhow::Result<_>>()?;
    let timestamp_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
    let genesis = Genesis {
        version: opts.protocol_version,
        epoch_length: opts.epoch_length,
        chain_id: chain_id.clone(),
        suite: opts.suite,
        timestamp_ms,
        organisations: cas
            .iter()
            .map(|ca| Organisation {
                name: ca.org().to_owned(),
                ca_certs: vec![CertDer(ca.cert().der().to_vec())],
            })
            .collect(),
        validators: validators
            .iter()
            .enumerate()
            .map(|(i, k)| Validator {
                name: format!("node{i}"),
                org: org_names.get(i).cloned().unwrap_or_default(),
                public_key: k.public_key(),
                address: String::new(),
            })
            .collect(),
    };
    genesis.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let genesis_json = genesis.to_json();
    let all_peers: Vec<PeerConfig> = node_keys
        .iter()
        .zip(&p2p_addrs)
        .map(|(k, &address)| PeerConfig {
            public_key: k.public_key(),
            address,
        })
        .collect();
    let (peers, observers) = all_peers.split_at(n);

    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for ca in &cas {
        ca.save()?;
        for (name, role) in [("admin", Role::Admin), ("writer", Role::Writer)] {
            let key = SigningKey::generate(opts.suite);
            let cert = ca.issue(name, role, &key.public_key(), ca::CERT_VALIDITY_DAYS)?;
            ca::write_identity(&ca.dir().join(name), &cert, Some(&key))?;
        }
    }
    for (i, node_dir) in node_dirs.iter().enumerate() {
        std::fs::create_dir_all(node_dir)
            .with_context(|| format!("cannot create {}", node_dir.display()))?;
        write_key(&node_dir.join(layout::VALIDATOR_KEY), &node_keys[i])?;
        write_key(
            &node_dir.join(layout::CLIENT_KEY),
            &SigningKey::generate(opts.suite),
        )?;
        // Validator i belongs to org{i+1}; observers to org1.
        if let Some(ca) = cas.get(i).or(cas.first()) {
            let cert = ca.issue(
                &format!("node{i}"),
                Role::Node,
                &node_keys[i].public_key(),
                ca::CERT_VALIDITY_DAYS,
            )?;
            let path = node_dir.join(ca::NODE_CERT);
            std::fs::write(&path, cert.to_pem())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        let mut config = NodeConfig::default();
        config.api.listen = api_addrs[i];
        config.network.listen = p2p_addrs[i];
        config.network.peers = peers.to_vec();
        config.network.observers = observers.to_vec();
        let config_path = node_dir.join(layout::CONFIG);
        config
            .validate(&config_path.display().to_string())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        std::fs::write(&config_path, config.to_toml())
            .with_context(|| format!("cannot write {}", config_path.display()))?;
        // Genesis last: its presence marks a complete node directory.
        let node_genesis = node_dir.join(layout::GENESIS);
        std::fs::write(&node_genesis, &genesis_json)
            .with_context(|| format!("cannot write {}", node_genesis.display()))?;
    }
    // The shared genesis last of all: its presence marks a complete network.
    std::fs::write(&genesis_path, &genesis_json)
        .with_context(|| format!("cannot write {}", genesis_path.display()))?;
    Ok(NetInitReport {
        chain_id,
        genesis_path,
        node_dirs,
        validator_keys: validators.iter().map(SigningKey::public_key).collect(),
        api_addrs,
        p2p_addrs,
        org_dirs,
    })
}

/// What [`add_node`] created.
#[derive(Clone, Debug)]
pub struct AddNodeReport {
    /// `DIR/node-{i}`.
    pub node_dir: PathBuf,
    /// The node's name (`node{i}` unless given).
    pub name: String,
    /// Its organisation.
    pub org: String,
    /// Its consensus key: what `kexin gov propose add-validator` names.
    pub public_key: PublicKey,
    /// Its p2p listener: the address the other validators reach it at.
    pub p2p_addr: SocketAddr,
    /// Its REST API.
    pub api_addr: SocketAddr,
}

/// Adds a node to the network in `net_dir` (made by [`init_network`]) for organisation
/// `org`, whose CA is in `net_dir/org`: the next `node-{i}` directory with the genesis, a new
/// key, a node certificate from the organisation's CA, and a configuration listing every
/// genesis validator and observer as peers. It follows the chain as an observer until
/// governance adds its key as a validator (`kexin gov propose add-validator`), from the next
/// epoch on; the other nodes reach it at the address the proposal records.
pub fn add_node(net_dir: &Path, org: &str, name: Option<&str>) -> anyhow::Result<AddNodeReport> {
    let genesis_path = net_dir.join(layout::GENESIS);
    let genesis_text = std::fs::read_to_string(&genesis_path)
        .with_context(|| format!("cannot read {}", genesis_path.display()))?;
    let genesis = Genesis::from_json(&genesis_text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let index = (0..)
        .take_while(|&i| net_node_dir(net_dir, i).join(layout::CONFIG).is_file())
        .count();
    if index == 0 {
        anyhow::bail!(
            "{} has no node-0: not a network directory",
            net_dir.display()
        );
    }
    let node_dir = net_node_dir(net_dir, index);
    if node_dir.exists() {
        anyhow::bail!("{} already exists: remove it first", node_dir.display());
    }
    let name = name.map_or_else(|| format!("node{index}"), str::to_owned);
    if name.is_empty() || name.len() > kexin_types::limits::MAX_NAME_BYTES {
        anyhow::bail!("a node name has 1..=64 bytes");
    }
    let ca = if genesis.is_permissioned() {
        Some(OrgCa::open(&net_dir.join(org))?)
    } else {
        None
    };
    // Peers: as node-0 lists them (every genesis validator, node-0 included, and the observers).
    let first = NodeConfig::load(&net_node_dir(net_dir, 0).join(layout::CONFIG))?;
    let host = first.network.listen.ip();
    let mut held = Vec::new();
    let api = SocketAddr::new(host, choose_ports(host, 0, 1, "API", &mut held)?[0]);
    let p2p = SocketAddr::new(host, choose_ports(host, 0, 1, "p2p", &mut held)?[0]);
    drop(held);
    let key = SigningKey::generate(genesis.suite);
    let mut config = NodeConfig::default();
    config.api.listen = api;
    config.network.listen = p2p;
    config.network.peers = first.network.peers.clone();
    config.network.observers = first.network.observers.clone();
    let config_path = node_dir.join(layout::CONFIG);
    config
        .validate(&config_path.display().to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    std::fs::create_dir_all(&node_dir)
        .with_context(|| format!("cannot create {}", node_dir.display()))?;
    write_key(&node_dir.join(layout::VALIDATOR_KEY), &key)?;
    write_key(
        &node_dir.join(layout::CLIENT_KEY),
        &SigningKey::generate(genesis.suite),
    )?;
    if let Some(ca) = &ca {
        let cert = ca.issue(&name, Role::Node, &key.public_key(), ca::CERT_VALIDITY_DAYS)?;
        let path = node_dir.join(ca::NODE_CERT);
        std::fs::write(&path, cert.to_pem())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    std::fs::write(&config_path, config.to_toml())
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    // Genesis last: its presence marks a complete node directory.
    let node_genesis = node_dir.join(layout::GENESIS);
    std::fs::write(&node_genesis, &genesis_text)
        .with_context(|| format!("cannot write {}", node_genesis.display()))?;
    Ok(AddNodeReport {
        node_dir,
        name,
        org: ca.map(|c| c.org().to_owned()).unwrap_or_default(),
        public_key: key.public_key(),
        p2p_addr: p2p,
        api_addr: api,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix("kexin-init-")
            .tempdir()
            .unwrap()
    }

    #[test]
    fn network_of_four_shares_one_genesis_and_lists_every_peer() {
        let t = tmp();
        let dir = t.path().join("net");
        let report = init_network(&NetInitOptions::new(&dir, 4, Suite::Intl)).unwrap();
        assert_eq!(report.node_dirs.len(), 4);
        let genesis_text = std::fs::read_to_string(dir.join(layout::GENESIS)).unwrap();
        let genesis = Genesis::from_json(&genesis_text).unwrap();
        assert_eq!(genesis.validators.len(), 4);
        assert_eq!(genesis.chain_id, report.chain_id);
        assert!(genesis.chain_id.starts_with("kexin-net-"));
        let mut ports = std::collections::BTreeSet::new();
        for (i, node_dir) in report.node_dirs.iter().enumerate() {
            assert_eq!(node_dir, &dir.join(format!("node-{i}")));
            let copy = std::fs::read_to_string(node_dir.join(layout::GENESIS)).unwrap();
            assert_eq!(copy, genesis_text);
            let key = std::fs::read_to_string(node_dir.join(layout::VALIDATOR_KEY)).unwrap();
            let key = SigningKey::from_pkcs8_pem(&key).unwrap();
            assert_eq!(key.public_key(), genesis.validators[i].public_key);
            assert!(node_dir.join(layout::CLIENT_KEY).exists());
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                let mode = std::fs::metadata(node_dir.join(layout::VALIDATOR_KEY))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600);
            }
            let config = NodeConfig::load(&node_dir.join(layout::CONFIG)).unwrap();
            assert_eq!(config.api.listen, report.api_addrs[i]);
            assert_eq!(config.network.listen, report.p2p_addrs[i]);
            assert_ne!(config.api.listen.port(), 0);
            assert_ne!(config.network.listen.port(), 0);
            assert!(ports.insert(config.api.listen.port()));
            assert!(ports.insert(config.network.listen.port()));
            let listed: Vec<(PublicKey, SocketAddr)> = config
                .network
                .peers
                .iter()
                .map(|p| (p.public_key, p.address))
                .collect();
            let expected: Vec<(PublicKey, SocketAddr)> = genesis
                .validators
                .iter()
                .map(|v| v.public_key)
                .zip(report.p2p_addrs.iter().copied())
                .collect();
            assert_eq!(listed, expected);
        }
    }

    #[test]
    fn network_is_a_consortium_of_one_org_per_validator() {
        let t = tmp();
        let dir = t.path().join("net");
        let mut opts = NetInitOptions::new(&dir, 4, Suite::Intl);
        opts.observers = 1;
        let report = init_network(&opts).unwrap();
        let genesis =
            Genesis::from_json(&std::fs::read_to_string(dir.join(layout::GENESIS)).unwrap())
                .unwrap();
        assert!(genesis.is_permissioned());
        let names: Vec<&str> = genesis
            .organisations
            .iter()
            .map(|o| o.name.as_str())
            .collect();
        assert_eq!(names, ["org1", "org2", "org3", "org4"]);
        assert_eq!(report.org_dirs.len(), 4);
        let at = genesis.timestamp_ms;
        for (k, org) in genesis.organisations.iter().enumerate() {
            let org_dir = dir.join(&org.name);
            assert_eq!(report.org_dirs[k], org_dir);
            assert_eq!(genesis.validators[k].org, org.name);
            let ca = ca::read_cert(&org_dir.join(ca::CA_CERT)).unwrap();
            assert_eq!(org.ca_certs, vec![CertDer(ca.der().to_vec())]);
            kexin_pki::check_ca(&ca, Suite::Intl, at).unwrap();
            let (_, ca_end) = ca.validity_ms();
            assert!(ca_end > at + 9 * 365 * 86_400_000);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                for f in [ca::CA_KEY, "admin/key.pem", "writer/key.pem"] {
                    let mode = std::fs::metadata(org_dir.join(f))
                        .unwrap()
                        .permissions()
                        .mode();
                    assert_eq!(mode & 0o777, 0o600, "{f}");
                }
            }
            for (who, role) in [("admin", Role::Admin), ("writer", Role::Writer)] {
                let cert = ca::read_cert(&org_dir.join(who).join(ca::IDENTITY_CERT)).unwrap();
                let key =
                    std::fs::read_to_string(org_dir.join(who).join(ca::IDENTITY_KEY)).unwrap();
                let key = SigningKey::from_pkcs8_pem(&key).unwrap();
                let id = kexin_pki::verify(&cert, &ca, Suite::Intl, at).unwrap();
                assert_eq!((id.name.as_str(), id.role), (who, role));
                assert_eq!(id.org, org.name);
                assert_eq!(id.public_key, key.public_key());
                let record = org_dir
                    .join(ca::ISSUED)
                    .join(who)
                    .join(format!("{}.pem", cert.serial_hex()));
                assert_eq!(ca::read_cert(&record).unwrap(), cert);
            }
        }
        for (i, node_dir) in report.node_dirs.iter().enumerate() {
            let cert = ca::read_cert(&node_dir.join(ca::NODE_CERT)).unwrap();
            let org = if i < 4 { i } else { 0 };
            let ca = ca::read_cert(&report.org_dirs[org].join(ca::CA_CERT)).unwrap();
            let id = kexin_pki::verify(&cert, &ca, Suite::Intl, at).unwrap();
            assert_eq!(id.role, Role::Node);
            assert_eq!(id.name, format!("node{i}"));
            let key = std::fs::read_to_string(node_dir.join(layout::VALIDATOR_KEY)).unwrap();
            assert_eq!(
                id.public_key,
                SigningKey::from_pkcs8_pem(&key).unwrap().public_key()
            );
        }

        // An open chain has none of it.
        let t = tmp();
        let mut opts = NetInitOptions::new(t.path(), 2, Suite::Gm);
        opts.open = true;
        let report = init_network(&opts).unwrap();
        let genesis =
            Genesis::from_json(&std::fs::read_to_string(&report.genesis_path).unwrap()).unwrap();
        assert!(!genesis.is_permissioned());
        assert!(genesis.validators.iter().all(|v| v.org.is_empty()));
        assert!(report.org_dirs.is_empty());
        assert!(!t.path().join("org1").exists());
        assert!(!report.node_dirs[0].join(ca::NODE_CERT).exists());
    }

    #[test]
    fn network_refuses_a_leftover_organisation() {
        let t = tmp();
        std::fs::create_dir_all(t.path().join("org2/admin")).unwrap();
        let err = init_network(&NetInitOptions::new(t.path(), 4, Suite::Intl))
            .unwrap_err()
            .to_string();
        assert!(err.contains("org2"), "{err}");
        assert!(!t.path().join("org1").exists());
        assert!(!t.path().join(layout::GENESIS).exists());
    }

    #[test]
    fn network_with_base_ports_and_chain_id() {
        let t = tmp();
        let mut opts = NetInitOptions::new(t.path(), 3, Suite::Gm);
        opts.chain_id = Some("consortium-1".into());
        opts.api_base_port = 18_080;
        opts.p2p_base_port = 19_000;
        let report = init_network(&opts).unwrap();
        assert_eq!(report.chain_id, "consortium-1");
        let ports: Vec<u16> = report.api_addrs.iter().map(SocketAddr::port).collect();
        assert_eq!(ports, [18_080, 18_081, 18_082]);
        let ports: Vec<u16> = report.p2p_addrs.iter().map(SocketAddr::port).collect();
        assert_eq!(ports, [19_000, 19_001, 19_002]);

        let t = tmp();
        let mut opts = NetInitOptions::new(t.path(), 4, Suite::Gm);
        opts.api_base_port = 9_000;
        opts.p2p_base_port = 9_002;
        let err = init_network(&opts).unwrap_err().to_string();
        assert!(err.contains("both an API and a p2p port"), "{err}");
        opts.api_base_port = 65_534;
        opts.p2p_base_port = 9_000;
        assert!(init_network(&opts).is_err());
        assert!(!t.path().join(layout::GENESIS).exists());
    }

    #[test]
    fn network_refuses_zero_too_many_and_an_existing_genesis() {
        let t = tmp();
        let err = init_network(&NetInitOptions::new(t.path(), 0, Suite::Intl)).unwrap_err();
        assert!(err.to_string().contains("1..="), "{err}");
        let too_many = kexin_types::limits::MAX_VALIDATORS as usize + 1;
        assert!(init_network(&NetInitOptions::new(t.path(), too_many, Suite::Intl)).is_err());
        assert!(!t.path().join("node-0").exists());

        init_network(&NetInitOptions::new(t.path(), 1, Suite::Intl)).unwrap();
        let err = init_network(&NetInitOptions::new(t.path(), 1, Suite::Intl)).unwrap_err();
        assert!(err.to_string().contains("already initialised"), "{err}");
    }

    #[test]
    fn single_node_listens_for_p2p_on_any_port() {
        let t = tmp();
        let report = init(&InitOptions {
            dir: t.path().to_owned(),
            suite: Suite::Intl,
            chain_id: None,
            api_addr: "127.0.0.1:0".parse().unwrap(),
        })
        .unwrap();
        let config = NodeConfig::load(&report.config_path).unwrap();
        assert_eq!(config.network.listen, "127.0.0.1:0".parse().unwrap());
        assert!(config.network.peers.is_empty());
        assert!(report.chain_id.starts_with("kexin-local-"));
    }
}
