//! The API contract (`openapi.json`) held to the code, and HTTP caching.
//!
//! * the router's route table and the document list the same operations, with the same
//!   caching (`x-cache`);
//! * real answers of a running node, to anonymous and signed reads, validate against the
//!   document's schemas (JSON Schema 2020-12, `jsonschema`), and every operation with a JSON
//!   answer is exercised;
//! * bad requests get a status and an error code that the document lists for the operation;
//! * `limit` bounds in the document are the ones the handlers enforce;
//! * final objects carry a stable strong `ETag`, `If-None-Match` gets `304`, and what may
//!   change is never cached as immutable.

use std::collections::{BTreeMap, BTreeSet};
mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use kexin_crypto::{Hash, SigningKey, Suite};
use kexin_node::Node;
use kexin_types::api::SubmitRequest;
use kexin_types::{
    CertDer, Encode, EvidenceRecord, GovAction, Payload, RevocationReason, Role, Transaction,
};
use serde_json::{Value, json};
use tower::ServiceExt as _;

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

/// `openapi.json`, with lookups by concrete request.
struct Doc {
    json: Value,
}

impl Doc {
    fn load() -> Doc {
        Doc {
            json: serde_json::from_str(kexin_api::OPENAPI_JSON).expect("openapi.json is JSON"),
        }
    }

    /// `value`, or what its `$ref` (a local `#/...` pointer) names.
    fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let pointer = r.strip_prefix('#').expect("local reference");
                self.resolve(
                    self.json
                        .pointer(pointer)
                        .unwrap_or_else(|| panic!("dangling reference {r}")),
                )
            }
            None => value,
        }
    }

    fn paths(&self) -> &serde_json::Map<String, Value> {
        self.json["paths"].as_object().expect("paths")
    }

    /// Every operation: (METHOD, path template) → operation.
    fn operations(&self) -> BTreeMap<(String, String), &Value> {
        let mut out = BTreeMap::new();
        for (path, item) in self.paths() {
            for (method, op) in item.as_object().unwrap() {
                if ["get", "put", "post", "delete", "patch", "head", "options"]
                    .contains(&method.as_str())
                {
                    out.insert((method.to_uppercase(), path.clone()), op);
                }
            }
        }
        out
    }

    /// The path template matching `path` (`{param}` matches one segment) and its operation
    /// for `method`; `None` when no operation takes the request.
    fn operation(&self, method: &str, path: &str) -> Option<(String, &Value)> {
        let segments: Vec<&str> = path.split('/').collect();
        let mut found = None;
        for (template, item) in self.paths() {
            let t: Vec<&str> = template.split('/').collect();
            let matches = t.len() == segments.len()
                && t.iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            if !matches {
                continue;
            }
            // A literal segment wins over a parameter (axum's rule too).
            let literal = t.iter().filter(|s| !s.starts_with('{')).count();
            if found.as_ref().is_none_or(|(_, l, _)| literal > *l) {
                found = Some((template.clone(), literal, item));
            }
        }
        let (template, _, item) = found?;
        let op = item.get(method.to_lowercase())?;
        Some((template, op))
    }

    /// The documented response for `status`: of the operation, or (no operation takes the
    /// request) of `x-unmatched-requests`.
    fn response<'a>(&'a self, op: Option<&'a Value>, status: StatusCode) -> Option<&'a Value> {
        let responses = match op {
            Some(op) => &op["responses"],
            None => &self.json["x-unmatched-requests"]["responses"],
        };
        responses.get(status.as_str()).map(|r| self.resolve(r))
    }

    /// A validator for `schema` (a schema of this document), its references resolved
    /// against the document's components.
    fn validator(&self, schema: &Value) -> jsonschema::Validator {
        let wrapper = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.json["components"],
            "allOf": [schema],
        });
        jsonschema::draft202012::new(&wrapper)
            .unwrap_or_else(|e| panic!("schema {schema} does not compile: {e}"))
    }
}

// ---------------------------------------------------------------------------------------------
// A node, and a client that checks every answer against the document
// ---------------------------------------------------------------------------------------------

const CHAIN: &str = "openapi-test";

struct Harness {
    _dir: tempfile::TempDir,
    node: Arc<Node>,
    api: Api,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.node.shutdown();
    }
}

/// An answer, already checked against the document.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{e}: {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or_default().to_owned()
    }

    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_default()
    }

    fn ok(self) -> Answer {
        assert!(
            self.status.is_success(),
            "{}: {}",
            self.status,
            String::from_utf8_lossy(&self.body)
        );
        self
    }
}

/// Credentials of a signed read.
struct Creds {
    key: SigningKey,
    cert: CertDer,
}

struct Api {
    app: Router,
    doc: Doc,
    /// (METHOD, template, status) of every answer checked.
    seen: Mutex<BTreeSet<(String, String, u16)>>,
}

impl Api {
    /// Sends `req` and checks the answer against the document: the status is documented for
    /// the operation (or, when no operation takes the request, for unmatched requests), a JSON
    /// body validates against that status's schema, and an error's code is listed for it.
    async fn send(&self, req: Request<Body>) -> Answer {
        let method = req.method().as_str().to_owned();
        let uri = req.uri().clone();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        let what = format!("{method} {uri} → {status}");
        let op = self.doc.operation(&method, uri.path());
        let documented = self
            .doc
            .response(op.as_ref().map(|(_, op)| *op), status)
            .unwrap_or_else(|| {
                panic!(
                    "{what}: status not documented: {}",
                    String::from_utf8_lossy(&body)
                )
            });
        if let Some((template, _)) = &op {
            self.seen
                .lock()
                .unwrap()
                .insert((method.clone(), template.clone(), status.as_u16()));
        }
        if status == StatusCode::NOT_MODIFIED {
            assert!(body.is_empty(), "{what}: a 304 has no body");
            return Answer {
                status,
                headers,
                body,
            };
        }
        let Some(schema) = documented
            .pointer("/content/application~1json/schema")
            .map(|s| self.doc.resolve(s))
        else {
            return Answer {
                status,
                headers,
                body,
            };
        };
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{what}: {headers:?}"
        );
        let value: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
            panic!(
                "{what}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&body)
            )
        });
        let errors: Vec<String> = self
            .doc
            .validator(schema)
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the body does not match the documented schema:\n  {}\nbody: {value:#}",
            errors.join("\n  ")
        );
        if !status.is_success() {
            let codes = documented["x-error-codes"]
                .as_array()
                .unwrap_or_else(|| panic!("{what}: no x-error-codes"));
            assert!(
                codes.contains(&value["code"]),
                "{what}: code {} is not documented for this status (documented: {codes:?})",
                value["code"]
            );
        }
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn request(
        &self,
        method: &str,
        uri: &str,
        body: Option<String>,
        creds: Option<&Creds>,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = creds {
            let headers = kexin_types::signed_read::headers(
                &c.key,
                c.cert.as_bytes(),
                CHAIN,
                method,
                uri,
                now_ms(),
            )
            .unwrap();
            for (name, value) in headers {
                req = req.header(name, value);
            }
        }
        for (name, value) in extra {
            req = req.header(*name, *value);
        }
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        self.send(req.body(body.map(Body::from).unwrap_or_default()).unwrap())
            .await
    }

    async fn get(&self, uri: &str) -> Answer {
        self.request("GET", uri, None, None, &[]).await
    }

    async fn get_as(&self, uri: &str, creds: &Creds) -> Answer {
        self.request("GET", uri, None, Some(creds), &[]).await
    }

    async fn post(&self, uri: &str, body: impl Into<String>) -> Answer {
        self.request("POST", uri, Some(body.into()), None, &[])
            .await
    }

    async fn submit(&self, tx: &Transaction) -> Hash {
        let a = self.post("/v1/transactions", submit_body(tx)).await;
        assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.json());
        tx.hash()
    }

    async fn wait_committed(&self, hash: &Hash) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let a = self
                .get(&format!("/v1/transactions/{hash}/status"))
                .await
                .ok();
            let j = a.json();
            if j["status"] == "committed" {
                return j;
            }
            assert_eq!(j["status"], "pending", "{j}");
            assert!(Instant::now() < deadline, "{hash} not committed in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn commit(&self, tx: &Transaction) -> Value {
        let hash = self.submit(tx).await;
        self.wait_committed(&hash).await
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn submit_body(tx: &Transaction) -> String {
    serde_json::to_string(&SubmitRequest {
        tx: hex::encode(tx.encode()),
    })
    .unwrap()
}

fn records(suite: Suite, tag: &str, n: usize) -> Vec<EvidenceRecord> {
    (0..n)
        .map(|i| EvidenceRecord {
            digest: suite.hash(format!("{tag}-{i}").as_bytes()),
            metadata: kexin_types::RecordMetadata {
                salt: kexin_types::Salt([9; 16]),
                content_type: "application/pdf".into(),
                label: format!("{tag}-{i}.pdf"),
                external_ref: (i % 2 == 0).then(|| format!("s3://bucket/{tag}/{i}")),
            },
        })
        .collect()
}

/// A CA for `org`, valid from a minute ago for a day (so `/v1/health` warns of expiry).
fn org_ca(suite: Suite, org: &str) -> (kexin_pki::Certificate, SigningKey) {
    let key = SigningKey::generate(suite);
    let now = now_ms();
    let terms = kexin_pki::Terms {
        serial: 1,
        not_before_ms: now - 60_000,
        not_after_ms: now + 86_400_000,
    };
    (kexin_pki::self_signed_ca(org, &key, &terms).unwrap(), key)
}

struct Org {
    ca: kexin_pki::Certificate,
    key: SigningKey,
    serial: std::cell::Cell<u64>,
}

impl Org {
    /// A new identity of this organisation.
    fn member(&self, suite: Suite, name: &str, role: Role) -> Creds {
        self.serial.set(self.serial.get() + 1);
        let key = SigningKey::generate(suite);
        let (from, to) = self.ca.validity_ms();
        let terms = kexin_pki::Terms {
            serial: self.serial.get(),
            not_before_ms: from,
            not_after_ms: to,
        };
        let cert =
            kexin_pki::issue(&self.ca, &self.key, name, role, &key.public_key(), &terms).unwrap();
        Creds {
            key,
            cert: CertDer(cert.der().to_vec()),
        }
    }
}

/// A one-node chain with fast blocks and epochs of 4 blocks: a consortium of `org1` (which
/// operates the validator) and `org2` when `consortium`, else an open chain.
fn start(suite: Suite, consortium: bool) -> (Harness, Vec<Org>) {
    let orgs: Vec<Org> = if consortium {
        ["org1", "org2"]
            .iter()
            .map(|name| {
                let (ca, key) = org_ca(suite, name);
                Org {
                    ca,
                    key,
                    serial: 1.into(),
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    let (node, dir) = common::one_node(suite, CHAIN, |genesis| {
        genesis.epoch_length = 4;
        if consortium {
            genesis.organisations = orgs
                .iter()
                .map(|o| kexin_types::Organisation {
                    name: o.ca.org().unwrap(),
                    ca_certs: vec![CertDer(o.ca.der().to_vec())],
                })
                .collect();
            genesis.validators[0].org = "org1".into();
        }
    });
    let api = Api {
        app: kexin_api::router(node.clone()),
        doc: Doc::load(),
        seen: Mutex::default(),
    };
    (
        Harness {
            _dir: dir,
            node,
            api,
        },
        orgs,
    )
}

fn sign(creds: &Creds, attach: bool, nonce: u64, payload: Payload) -> Transaction {
    Transaction::sign_as(
        CHAIN,
        &creds.key,
        Some((&creds.cert, attach)),
        nonce,
        payload,
    )
}

// ---------------------------------------------------------------------------------------------
// The route table and the document
// ---------------------------------------------------------------------------------------------

/// The router serves exactly the documented operations, each with its documented caching;
/// every operation is complete (summary, parameters of its path, error codes, 401 and 500).
#[test]
fn the_route_table_and_the_document_list_the_same_operations() {
    let doc = Doc::load();
    assert_eq!(doc.json["openapi"], "3.1.0");
    let routes: BTreeMap<(String, String), kexin_api::Caching> = kexin_api::routes()
        .into_iter()
        .map(|(m, p, c)| ((m.as_str().to_owned(), p.to_owned()), c))
        .collect();
    assert_eq!(
        routes.len(),
        kexin_api::routes().len(),
        "a route is listed twice"
    );
    let ops = doc.operations();
    let served: BTreeSet<_> = routes.keys().cloned().collect();
    let documented: BTreeSet<_> = ops.keys().cloned().collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes not in openapi.json: {undocumented:?}; documented but not routed: {unserved:?}"
    );

    let mut ids = BTreeSet::new();
    for ((method, path), op) in &ops {
        let what = format!("{method} {path}");
        assert!(
            ids.insert(op["operationId"].as_str().unwrap()),
            "{what}: id"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: summary"
        );
        assert_eq!(
            op["x-cache"],
            routes[&(method.clone(), path.clone())].name(),
            "{what}: x-cache differs from the route table"
        );
        // Path parameters: exactly those of the template.
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().map(|p| doc.resolve(p)).collect())
            .unwrap_or_default();
        let in_doc: BTreeSet<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(in_template, in_doc, "{what}: path parameters");
        for p in &params {
            assert!(
                p["schema"].is_object(),
                "{what}: parameter {p} has no schema"
            );
            doc.validator(&p["schema"]);
        }
        // Responses: a success; errors with their codes and the error schema; every
        // operation can answer 401 (signed reads are checked on every route) and 500.
        let responses = op["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no success response"
        );
        for status in ["401", "500"] {
            assert!(responses.contains_key(status), "{what}: no {status}");
        }
        for (status, r) in responses {
            let r = doc.resolve(r);
            assert!(r["description"].is_string(), "{what} {status}: description");
            if let Some(schema) = r.pointer("/content/application~1json/schema") {
                doc.validator(doc.resolve(schema));
            }
            if status.starts_with('4') || status.starts_with('5') {
                let codes = r["x-error-codes"].as_array();
                assert!(
                    codes.is_some_and(|c| !c.is_empty()),
                    "{what} {status}: no x-error-codes"
                );
                assert_eq!(
                    r.pointer("/content/application~1json/schema/$ref"),
                    Some(&json!("#/components/schemas/ApiError")),
                    "{what} {status}: errors are ApiError"
                );
            }
        }
        if op["x-cache"] != "no-store" {
            assert!(responses.contains_key("304"), "{what}: cacheable, no 304");
        }
    }
    // Every component schema compiles, and every reference resolves.
    for schema in doc.json["components"]["schemas"]
        .as_object()
        .unwrap()
        .values()
    {
        doc.validator(schema);
    }
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc.json, &mut all);
    for r in all {
        assert!(
            doc.json.pointer(r.strip_prefix('#').unwrap()).is_some(),
            "dangling {r}"
        );
    }
}

/// The schemas are strict enough to catch drift: a field the code does not write, a missing
/// field, or a hash that is not 64 lowercase hex digits is refused.
#[test]
fn the_schemas_refuse_drifted_answers() {
    let doc = Doc::load();
    let schema = json!({"$ref": "#/components/schemas/TxStatusResponse"});
    let v = doc.validator(&schema);
    let hash = "ab".repeat(32);
    assert!(v.is_valid(&json!({"hash": hash, "status": "pending"})));
    assert!(v.is_valid(
        &json!({"hash": hash, "status": "committed", "height": 3, "tx_index": 0, "log_index": 7})
    ));
    for drifted in [
        json!({"hash": hash, "status": "pending", "extra": 1}),
        json!({"hash": hash, "status": "committed", "height": 3}),
        json!({"hash": hash.to_uppercase(), "status": "pending"}),
        json!({"hash": &hash[2..], "status": "pending"}),
        json!({"hash": hash, "status": "lost"}),
        json!({"hash": hash, "status": "rejected"}),
    ] {
        assert!(!v.is_valid(&drifted), "accepted {drifted}");
    }
}

// ---------------------------------------------------------------------------------------------
// Real answers
// ---------------------------------------------------------------------------------------------

/// A consortium chain that went through evidence, audit notes, certificates, a revocation,
/// governance and two epoch changes; every operation is called, anonymously and as members,
/// and every answer validates against the document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_answers_validate_against_the_document() {
    let suite = Suite::Intl;
    let (h, orgs) = start(suite, true);
    let api = &h.api;
    let (org1, org2) = (&orgs[0], &orgs[1]);
    let writer = org1.member(suite, "wendy", Role::Writer);
    let writer2 = org1.member(suite, "walt", Role::Writer);
    let reader1 = org1.member(suite, "rita", Role::Reader);
    let admin1 = org1.member(suite, "adam", Role::Admin);
    let admin2 = org2.member(suite, "alba", Role::Admin);
    let auditor2 = org2.member(suite, "ann", Role::Auditor);

    assert_eq!(
        api.get("/v1/checkpoint").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/v1/blocks/latest").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/v1/contracts/0x00000000000000000000000000000000000000aa/storage/0")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Evidence, an audit note, governance: proposals passed, rejected and open.
    let recs = records(suite, "contract", 3);
    let ev = sign(
        &writer,
        true,
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    api.commit(&ev).await;
    let note = sign(
        &auditor2,
        true,
        1,
        Payload::AuditNote {
            subject: recs[0].digest,
            text: "checked against the originals".into(),
        },
    );
    api.commit(&note).await;
    let ttl = |ms| Payload::Propose {
        action: GovAction::SetParam {
            name: "gov.proposal_ttl_ms".into(),
            value: ms,
        },
    };
    let passed = sign(&admin1, true, 1, ttl(3_600_000));
    let rejected = sign(&admin1, false, 2, ttl(7_200_000));
    let open = sign(&admin1, false, 3, ttl(10_800_000));
    for tx in [&passed, &rejected, &open] {
        api.commit(tx).await;
    }
    for (nonce, proposal, approve) in [(1, passed.hash(), true), (2, rejected.hash(), false)] {
        let vote = Payload::Vote { proposal, approve };
        api.commit(&sign(&admin2, nonce == 1, nonce, vote)).await;
    }
    // A transaction dropped while pending: walt's nonce 3 waits for 2, then walt is revoked.
    api.commit(&sign(
        &writer2,
        true,
        1,
        Payload::Evidence {
            records: records(suite, "walt", 1),
        },
    ))
    .await;
    let dropped = sign(
        &writer2,
        false,
        3,
        Payload::Evidence {
            records: records(suite, "dropped", 1),
        },
    );
    api.submit(&dropped).await;
    let revoke = sign(
        &admin1,
        false,
        4,
        Payload::RevokeCert {
            cert: writer2.cert.clone(),
            reason: RevocationReason::KeyCompromise,
        },
    );
    api.commit(&revoke).await;
    // A contract (protocol version 5), deployed by org1's admin: its runtime code returns the
    // word 42. Its account and a read-only call.
    let init = hex::decode("600a600c600039600a6000f3602a60005260206000f3").unwrap();
    let deploy = sign(
        &admin1,
        false,
        5,
        Payload::ContractDeploy {
            gas_limit: 200_000,
            code: init,
            abi: Some(
                r#"[{"type":"function","name":"answer","inputs":[],"outputs":[{"name":"","type":"uint256"}],"stateMutability":"view"}]"#
                    .into(),
            ),
        },
    );
    api.commit(&deploy).await;
    let tx = api
        .get(&format!("/v1/transactions/{}", deploy.hash()))
        .await
        .json();
    assert_eq!(tx["outcome"]["status"], "success", "{tx}");
    let address = tx["outcome"]["return_data"].as_str().unwrap().to_owned();
    assert_eq!(address.len(), 42, "{tx}");
    let account = api.get(&format!("/v1/contracts/{address}")).await;
    assert_eq!(account.status, StatusCode::OK);
    assert_eq!(account.json()["code_size"], 10);
    assert_eq!(account.json()["creator_org"], "org1");
    let q = api
        .post(
            &format!("/v1/contracts/{address}/query"),
            r#"{"input": "0x"}"#,
        )
        .await;
    assert_eq!(q.status, StatusCode::OK);
    assert_eq!(
        q.json()["return_data"],
        format!("0x{}", "0".repeat(62) + "2a")
    );
    // By function name, with the published ABI: encoded by the node, answered decoded.
    let q = api
        .post(
            &format!("/v1/contracts/{address}/query"),
            r#"{"function": "answer"}"#,
        )
        .await;
    assert_eq!(q.status, StatusCode::OK);
    assert_eq!(q.json()["decoded"], "42", "{}", q.json());
    for (body, code) in [
        (r#"{"function": "question"}"#, "abi_no_function"),
        (
            r#"{"function": "answer", "args": ["1"]}"#,
            "abi_argument_count",
        ),
        (
            r#"{"function": "answer", "input": "0x00"}"#,
            "invalid_request",
        ),
        (r#"{"args": ["1"]}"#, "invalid_request"),
    ] {
        let r = api
            .post(&format!("/v1/contracts/{address}/query"), body)
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json()["code"], code, "{body}: {}", r.json());
    }
    let none = api
        .post(
            "/v1/contracts/0x00000000000000000000000000000000000000aa/query",
            r#"{"input": "0x"}"#,
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let bad = api
        .post(&format!("/v1/contracts/{address}/query"), r#"{"input": 7}"#)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // A storage slot the contract never wrote: an absence proof, offline from the genesis.
    let storage = api
        .get(&format!("/v1/contracts/{address}/storage/0x0"))
        .await
        .ok()
        .json();
    assert!(storage["value_hex"].is_null(), "{storage}");
    let doc: kexin_types::state_receipt::StateReceipt = serde_json::from_value(storage).unwrap();
    assert_eq!(doc.verify(h.node.genesis()).unwrap().value, None);
    // A name no vote gave: its absence, proven.
    let name = api.get("/v1/names/no-such-app/proof").await.ok().json();
    let doc: kexin_types::state_receipt::StateReceipt = serde_json::from_value(name).unwrap();
    let v = doc.verify(h.node.genesis()).unwrap();
    assert_eq!(
        (v.namespace, v.key.as_slice(), v.value),
        (13, &b"no-such-app"[..], None)
    );
    assert_eq!(
        api.get("/v1/names/No_Such/proof").await.status,
        StatusCode::BAD_REQUEST
    );
    // Its logs: this contract emits none, and the page says which blocks it scanned.
    let logs = api
        .get(&format!(
            "/v1/contracts/{address}/events?from_height=1&limit=10"
        ))
        .await
        .ok()
        .json();
    assert_eq!(logs["logs"], json!([]), "{logs}");
    assert_eq!(logs["from_height"], 1, "{logs}");
    // A call of `answer()` in a transaction, decoded with the ABI published with the
    // deployment; the contract's transactions.
    let call = sign(
        &admin1,
        false,
        6,
        Payload::ContractCall {
            contract: address.parse().unwrap(),
            gas_limit: 100_000,
            input: hex::decode("85bb7d69").unwrap(),
        },
    );
    api.commit(&call).await;
    let tx = api
        .get(&format!("/v1/transactions/{}", call.hash()))
        .await
        .ok()
        .json();
    assert_eq!(tx["decoded"]["call"]["signature"], "answer()", "{tx}");
    let txs = api
        .get(&format!("/v1/contracts/{address}/transactions?limit=10"))
        .await
        .ok()
        .json();
    assert_eq!(txs["transactions"].as_array().unwrap().len(), 2, "{txs}");
    assert_eq!(
        txs["transactions"][0]["call"]["function"], "answer",
        "{txs}"
    );
    assert_eq!(txs["transactions"][1]["kind"], "contract_deploy", "{txs}");
    assert_eq!(txs["transactions"][1]["org"], "org1", "{txs}");
    // The consortium names it; the name finds it.
    let naming = sign(
        &admin1,
        false,
        7,
        Payload::Propose {
            action: GovAction::NameContract {
                name: "answer".into(),
                contract: address.parse().unwrap(),
            },
        },
    );
    api.commit(&naming).await;
    api.commit(&sign(
        &admin2,
        false,
        3,
        Payload::Vote {
            proposal: naming.hash(),
            approve: true,
        },
    ))
    .await;
    let named = api.get("/v1/names/answer").await.ok().json();
    assert_eq!(named["contract"], address, "{named}");
    assert_eq!(
        api.get("/v1/names/nothing").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/v1/names/Bad_Name").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(logs["to_height"], logs["height"], "{logs}");
    assert!(logs.get("next_from_height").is_none(), "{logs}");
    // A batch: two admitted (one waits behind a gap), one refused.
    let batch: Vec<Transaction> = [2, 4, 3]
        .iter()
        .map(|&n| {
            sign(
                &writer,
                false,
                n,
                Payload::Evidence {
                    records: records(suite, &format!("batch-{n}"), 2),
                },
            )
        })
        .collect();
    let mut bad = batch[2].clone();
    bad.signature.0[0] ^= 1;
    let items = [&batch[0], &batch[1], &bad]
        .iter()
        .map(|t| hex::encode(t.encode()))
        .collect::<Vec<_>>();
    let a = api
        .post(
            "/v1/transactions/batch",
            json!({ "txs": items }).to_string(),
        )
        .await
        .ok();
    assert_eq!(a.json()["accepted"], 2, "{}", a.json());
    // Still pending: nonce 4 waits for 3.
    let pending = api
        .get(&format!("/v1/transactions/{}", batch[1].hash()))
        .await;
    assert_eq!(pending.json()["status"], "pending");
    api.commit(&batch[2]).await;
    api.wait_committed(&batch[1].hash()).await;
    // Blocks until the third epoch, so checkpoints and receipts carry epoch links.
    let mut nonce = 5;
    while h.node.ledger().height() < 9 {
        let tx = sign(
            &writer,
            false,
            nonce,
            Payload::Evidence {
                records: records(suite, &format!("fill-{nonce}"), 1),
            },
        );
        api.commit(&tx).await;
        nonce += 1;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let rejected_status = loop {
        let j = api
            .get(&format!("/v1/transactions/{}/status", dropped.hash()))
            .await
            .ok()
            .json();
        if j["status"] == "rejected" {
            break j;
        }
        assert!(Instant::now() < deadline, "never dropped: {j}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(rejected_status["error"]["code"], "cert_revoked");
    // A pending transaction stays pending: its nonce-gap is never filled.
    let gap = sign(
        &writer,
        false,
        nonce + 1,
        Payload::Evidence {
            records: records(suite, "gap", 1),
        },
    );
    api.submit(&gap).await;

    // Every read, anonymously and signed.
    let height = h.node.ledger().height();
    let digest = recs[0].digest;
    let mut uris = vec![
        "/v1/chain".to_string(),
        "/v1/health".into(),
        "/v1/health/ready".into(),
        "/v1/validators".into(),
        "/v1/stats".into(),
        "/v1/stats?window_s=3600&bucket_s=60".into(),
        "/v1/blocks".into(),
        "/v1/blocks?limit=2&cursor=3".into(),
        "/v1/transactions".into(),
        "/v1/transactions?limit=1".into(),
        "/v1/checkpoint".into(),
        "/v1/openapi.json".into(),
        "/v1/orgs".into(),
        "/v1/certs".into(),
        "/v1/certs?org=org1&limit=2".into(),
        "/v1/gov/proposals".into(),
        "/v1/gov/proposals?limit=1".into(),
        "/v1/gov/consortium".into(),
        format!(
            "/v1/proofs/consistency?from=1&to={}",
            h.node.ledger().log_head().0
        ),
        "/v1/proofs/consistency?from=0&to=0".into(),
        "/v1/blocks/latest".into(),
        format!("/v1/evidence/{digest}"),
        format!("/v1/evidence/{digest}?limit=1000"),
        format!("/v1/audit-notes/{digest}"),
        format!("/v1/state/evidence/{digest}"),
        format!("/v1/state/evidence/{}", suite.hash(b"absent")),
        format!("/v1/state/nonce/{}", writer.key.public_key()),
        format!(
            "/v1/state/nonce/{}",
            SigningKey::generate(suite).public_key()
        ),
        format!("/v1/state/cert/{}", writer.cert.id(suite)),
        format!("/v1/state/cert/{}", writer2.cert.id(suite)),
        format!("/v1/state/cert/{}", reader1.cert.id(suite)),
        "/v1/state/org/org1".into(),
        format!("/v1/state/proposal/{}", passed.hash()),
        format!("/v1/state/proposal/{}", open.hash()),
        format!("/v1/transactions/{}/status", gap.hash()),
        format!("/v1/transactions/{}", gap.hash()),
    ];
    for epoch in 0..=h.node.genesis().epoch_of(height) {
        uris.push(format!("/v1/epochs/{epoch}"));
    }
    for height in 1..=height {
        uris.push(format!("/v1/blocks/{height}"));
    }
    for tx in [&ev, &note, &passed, &revoke, &batch[0]] {
        for suffix in ["", "/status", "/receipts", "/receipt"] {
            uris.push(format!("/v1/transactions/{}{suffix}", tx.hash()));
        }
    }
    for uri in &uris {
        api.get(uri).await.ok();
        for who in [&reader1, &auditor2, &admin2] {
            let signed = api.get_as(uri, who).await.ok();
            assert_eq!(signed.header("cache-control"), "private, no-store", "{uri}");
        }
    }
    // Block hashes too.
    let latest = api.get("/v1/blocks/latest").await.ok().json();
    api.get(&format!("/v1/blocks/{}", latest["hash"].as_str().unwrap()))
        .await
        .ok();
    // Link-carrying answers were seen.
    let cp = api.get("/v1/checkpoint").await.json();
    assert!(
        cp["epochs"].as_array().is_some_and(|e| e.len() >= 2),
        "{cp}"
    );
    // A state proof of a later epoch carries the links and verifies with them.
    let storage = api
        .get(&format!("/v1/contracts/{address}/storage/7"))
        .await
        .ok()
        .json();
    assert!(
        storage["epochs"].as_array().is_some_and(|e| e.len() >= 2),
        "{storage}"
    );
    let doc: kexin_types::state_receipt::StateReceipt = serde_json::from_value(storage).unwrap();
    let v = doc.verify(h.node.genesis()).unwrap();
    assert!(v.epoch >= 2 && v.value.is_none(), "{v:?}");

    // Every operation's success answer was checked.
    let seen = api.seen.lock().unwrap().clone();
    for ((method, template), op) in api.doc.operations() {
        let json_success = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(s, _)| s.starts_with('2'))
            .is_some_and(|(_, r)| {
                api.doc
                    .resolve(r)
                    .pointer("/content/application~1json")
                    .is_some()
            });
        if !json_success {
            continue;
        }
        assert!(
            seen.iter()
                .any(|(m, t, s)| *m == method && *t == template && (200..300).contains(s)),
            "{method} {template}: no success answer was checked; call it in this test"
        );
    }
}

/// An open chain: metadata is public, keys are SM2 (66 hex digits), and signed reads are
/// refused with `no_organisations`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_chain_answers_validate_against_the_document() {
    let suite = Suite::Gm;
    let (h, _) = start(suite, false);
    let api = &h.api;
    let key = SigningKey::generate(suite);
    let recs = records(suite, "open", 2);
    let tx = Transaction::sign(
        CHAIN,
        &key,
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    api.commit(&tx).await;
    for uri in [
        format!("/v1/transactions/{}", tx.hash()),
        format!("/v1/transactions/{}/receipts", tx.hash()),
        format!("/v1/transactions/{}/receipt", tx.hash()),
        format!("/v1/evidence/{}", recs[1].digest),
        format!("/v1/state/nonce/{}", key.public_key()),
        "/v1/chain".into(),
        "/v1/blocks/1".into(),
        "/v1/certs".into(),
        "/v1/orgs".into(),
        "/v1/gov/consortium".into(),
        "/v1/epochs/0".into(),
    ] {
        let a = api.get(&uri).await.ok();
        assert!(
            !String::from_utf8_lossy(&a.body).contains("withheld"),
            "{uri}: an open chain withholds nothing"
        );
    }
    let (ca, ca_key) = org_ca(suite, "org1");
    let org = Org {
        ca,
        key: ca_key,
        serial: 1.into(),
    };
    let stranger = org.member(suite, "rita", Role::Reader);
    let a = api.get_as("/v1/chain", &stranger).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "no_organisations")
    );
}

// ---------------------------------------------------------------------------------------------
// Bad requests
// ---------------------------------------------------------------------------------------------

/// Bad requests on every operation get a JSON error whose status and code the document lists
/// for that operation (checked by `Api::send`); here, that they are refused with the expected
/// code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_documented_errors() {
    let suite = Suite::Intl;
    let (h, orgs) = start(suite, true);
    let api = &h.api;
    let writer = orgs[0].member(suite, "wendy", Role::Writer);
    let reader = orgs[0].member(suite, "rita", Role::Reader);
    let good = sign(
        &writer,
        true,
        1,
        Payload::Evidence {
            records: records(suite, "ok", 1),
        },
    );
    api.commit(&good).await;
    let digest = suite.hash(b"ok-0");
    let zero = Hash::ZERO;
    let bad_hash = "z".repeat(64);

    let gets: Vec<(String, StatusCode, &str)> = vec![
        // Hashes.
        (
            "/v1/transactions/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/transactions/{bad_hash}"),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/transactions/{zero}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/transactions/12/status".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/transactions/{zero}/status"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/transactions/12/receipts".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/transactions/{zero}/receipts"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/transactions/12/receipt".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/transactions/{zero}/receipt"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/audit-notes/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/audit-notes/{digest}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/evidence/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            format!("/v1/evidence/{zero}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/state/evidence/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            "/v1/state/cert/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            "/v1/state/proposal/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            "/v1/state/nonce/1234".into(),
            StatusCode::BAD_REQUEST,
            "invalid_public_key",
        ),
        (
            "/v1/state/org/no%20spaces".into(),
            StatusCode::BAD_REQUEST,
            "invalid_name",
        ),
        // Blocks and epochs.
        (
            "/v1/blocks/abc".into(),
            StatusCode::BAD_REQUEST,
            "invalid_block_id",
        ),
        (
            "/v1/blocks/-1".into(),
            StatusCode::BAD_REQUEST,
            "invalid_block_id",
        ),
        (
            format!("/v1/blocks/{bad_hash}"),
            StatusCode::BAD_REQUEST,
            "invalid_hash",
        ),
        (
            "/v1/blocks/99999".into(),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            format!("/v1/blocks/{zero}"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "/v1/epochs/x".into(),
            StatusCode::BAD_REQUEST,
            "invalid_epoch",
        ),
        (
            "/v1/epochs/999999".into(),
            StatusCode::NOT_FOUND,
            "unknown_epoch",
        ),
        (
            format!("/v1/epochs/{}", u64::MAX),
            StatusCode::NOT_FOUND,
            "unknown_epoch",
        ),
        // Huge and malformed query strings.
        (
            format!("/v1/evidence/{digest}?limit=99999999999999999999999"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("/v1/evidence/{digest}?limit=%zz"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("/v1/evidence/{digest}?limit=1&limit=2"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("/v1/evidence/{digest}?colour=red"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            format!("/v1/audit-notes/{digest}?limit=-1"),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/certs?limit=x".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/gov/proposals?limit=".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/proofs/consistency".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/proofs/consistency?from=a&to=1".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        // The live routes.
        (
            "/v1/blocks?cursor=x".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/transactions?cursor=1".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/contracts/0x00000000000000000000000000000000000000aa/events?from_height=5&to_height=2"
                .into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/contracts/0x00000000000000000000000000000000000000aa/events?topic0=0x1234".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/contracts/0x1234/events".into(),
            StatusCode::BAD_REQUEST,
            "invalid_address",
        ),
        (
            "/v1/stats?window_s=300&bucket_s=7".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/stats?window_s=99999".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/events?types=block,votes".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/events?from_height=x".into(),
            StatusCode::BAD_REQUEST,
            "invalid_query",
        ),
        (
            "/v1/proofs/consistency?from=2&to=1".into(),
            StatusCode::BAD_REQUEST,
            "invalid_proof_request",
        ),
        (
            "/v1/proofs/consistency?from=1&to=99".into(),
            StatusCode::BAD_REQUEST,
            "log_size_out_of_range",
        ),
        (
            format!("/v1/blocks/{}", u64::MAX),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            format!("/v1/proofs/consistency?from=0&to={}", u64::MAX),
            StatusCode::BAD_REQUEST,
            "log_size_out_of_range",
        ),
        (
            "/v1/transactions/%ff".into(),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        (
            "/v1/state/org/%c3%28".into(),
            StatusCode::BAD_REQUEST,
            "invalid_path",
        ),
        // Contract storage slots.
        (
            "/v1/contracts/0x12/storage/0".into(),
            StatusCode::BAD_REQUEST,
            "invalid_address",
        ),
        (
            "/v1/contracts/0x00000000000000000000000000000000000000aa/storage/xyz".into(),
            StatusCode::BAD_REQUEST,
            "invalid_slot",
        ),
        (
            format!(
                "/v1/contracts/0x00000000000000000000000000000000000000aa/storage/0x{}",
                "1".repeat(65)
            ),
            StatusCode::BAD_REQUEST,
            "invalid_slot",
        ),
        (
            format!(
                "/v1/contracts/0x00000000000000000000000000000000000000aa/storage/1{}",
                "0".repeat(78)
            ),
            StatusCode::BAD_REQUEST,
            "invalid_slot",
        ),
        // Unknown routes and methods.
        ("/v1/nope".into(), StatusCode::NOT_FOUND, "not_found"),
        ("/v2/chain".into(), StatusCode::NOT_FOUND, "not_found"),
        (
            "/v1/transactions/batch".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        ("/v1/block".into(), StatusCode::NOT_FOUND, "not_found"),
    ];
    for (uri, status, code) in &gets {
        let a = api.get(uri).await;
        assert_eq!((a.status, a.code().as_str()), (*status, *code), "GET {uri}");
        assert_eq!(
            a.header("cache-control"),
            "no-store",
            "GET {uri}: errors are not stored"
        );
    }
    for (method, uri) in [
        ("POST", "/v1/chain"),
        ("DELETE", "/v1/transactions"),
        ("PUT", "/v1/blocks/1"),
    ] {
        let a = api.request(method, uri, Some("{}".into()), None, &[]).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            "{method} {uri}"
        );
        assert!(!a.header("allow").is_empty(), "{method} {uri}: Allow");
    }

    // Submissions.
    let posts: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "/v1/transactions",
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "/v1/transactions",
            r#"{"tx":"zz"}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_hex",
        ),
        (
            "/v1/transactions",
            json!({ "tx": hex::encode(&good.encode()[..20]) }).to_string(),
            StatusCode::BAD_REQUEST,
            "truncated",
        ),
        (
            "/v1/transactions",
            submit_body(&good),
            StatusCode::CONFLICT,
            "nonce_replayed",
        ),
        (
            "/v1/transactions/batch",
            r#"{"txs":[]}"#.into(),
            StatusCode::BAD_REQUEST,
            "empty_batch",
        ),
        (
            "/v1/transactions/batch",
            r#"{"txs":["zz"]}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_hex",
        ),
        (
            "/v1/transactions/batch",
            r#"{"tx":"00"}"#.into(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            "/v1/transactions/batch",
            json!({ "txs": vec!["00"; kexin_api::MAX_SUBMIT_BATCH + 1] }).to_string(),
            StatusCode::BAD_REQUEST,
            "batch_too_large",
        ),
    ];
    for (uri, body, status, code) in posts {
        let a = api.post(uri, body).await;
        assert_eq!((a.status, a.code().as_str()), (status, code), "POST {uri}");
    }
    let unsigned = Transaction::sign(
        CHAIN,
        &writer.key,
        2,
        Payload::Evidence {
            records: records(suite, "bare", 1),
        },
    );
    let a = api.post("/v1/transactions", submit_body(&unsigned)).await;
    assert_eq!(a.code(), "cert_required");
    let by_reader = sign(
        &reader,
        true,
        1,
        Payload::Evidence {
            records: records(suite, "reader", 1),
        },
    );
    let a = api.post("/v1/transactions", submit_body(&by_reader)).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::FORBIDDEN, "permission_denied")
    );
    let max = h.node.config().api.max_body_bytes;
    for uri in ["/v1/transactions", "/v1/transactions/batch"] {
        let huge = format!("{{\"tx\": \"{}\"}}", "0".repeat(max));
        let a = api.post(uri, huge).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            "POST {uri}"
        );
    }

    // Submissions must say they are JSON: the bodies a cross-site form or `fetch` may send
    // without a preflight are refused, and nothing is admitted.
    for uri in ["/v1/transactions", "/v1/transactions/batch"] {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let mut req = Request::builder().method("POST").uri(uri);
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let a = api
                .send(req.body(Body::from(submit_body(&good))).unwrap())
                .await;
            assert_eq!(
                (a.status, a.code().as_str()),
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
                "POST {uri} as {content_type:?}"
            );
        }
    }

    // Signed reads with bad credentials, on reads and submissions alike.
    let uri = format!("/v1/transactions/{}", good.hash());
    let stale = |at: u64| {
        kexin_types::signed_read::headers(
            &reader.key,
            reader.cert.as_bytes(),
            CHAIN,
            "GET",
            &uri,
            at,
        )
        .unwrap()
    };
    let fresh = stale(now_ms()).to_vec();
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (fresh[..2].to_vec(), "auth_malformed"),
        (
            vec![
                fresh[0].clone(),
                fresh[1].clone(),
                ("kexin-signature", "zz".into()),
            ],
            "auth_malformed",
        ),
        (stale(now_ms() - 3_600_000).to_vec(), "auth_stale"),
        (
            {
                let mut other = fresh.clone();
                other[2] = stale(now_ms() + 1)[2].clone();
                other
            },
            "auth_bad_signature",
        ),
        (
            vec![
                ("kexin-certificate", "3003020100".into()),
                fresh[1].clone(),
                fresh[2].clone(),
            ],
            "cert_malformed",
        ),
    ];
    for (headers, code) in cases {
        let extra: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let a = api.request("GET", &uri, None, None, &extra).await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::UNAUTHORIZED, code),
            "{extra:?}"
        );
        assert!(a.header("www-authenticate").starts_with("Kexin-Signature"));
        let a = api
            .request(
                "POST",
                "/v1/transactions",
                Some(submit_body(&good)),
                None,
                &extra,
            )
            .await;
        assert_eq!(
            (a.status, a.code().as_str()),
            (StatusCode::UNAUTHORIZED, code)
        );
    }
    let (ca, key) = org_ca(suite, "org9");
    let org9 = Org {
        ca,
        key,
        serial: 1.into(),
    };
    let stranger = org9.member(suite, "eve", Role::Auditor);
    let a = api.get_as("/v1/chain", &stranger).await;
    assert_eq!(
        (a.status, a.code().as_str()),
        (StatusCode::UNAUTHORIZED, "unknown_org")
    );
}

/// The `limit` bounds the document gives are the ones the handlers enforce: the documented
/// maximum is taken, one more and zero are refused with `invalid_query`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documented_page_limits_are_enforced() {
    let suite = Suite::Intl;
    let (h, _) = start(suite, false);
    let api = &h.api;
    let digest = suite.hash(b"anything");
    let mut checked = 0;
    for ((method, template), op) in api.doc.operations() {
        let Some(limit) = op["parameters"].as_array().and_then(|ps| {
            ps.iter()
                .map(|p| api.doc.resolve(p))
                .find(|p| p["in"] == "query" && p["name"] == "limit")
        }) else {
            continue;
        };
        assert_eq!(method, "GET");
        let schema = &limit["schema"];
        let (min, max) = (schema["minimum"].as_u64(), schema["maximum"].as_u64());
        let (Some(min), Some(max)) = (min, max) else {
            panic!("{template}: limit needs minimum and maximum");
        };
        assert_eq!(min, 1, "{template}");
        assert!(
            schema["default"].as_u64().is_some_and(|d| d <= max),
            "{template}: default"
        );
        let path = template
            .split('/')
            .map(|s| {
                if s.starts_with('{') {
                    digest.to_hex()
                } else {
                    s.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let a = api.get(&format!("{path}?limit={max}")).await;
        assert_ne!(
            a.code(),
            "invalid_query",
            "{template}: the documented maximum {max}"
        );
        for bad in [0, max + 1] {
            let a = api.get(&format!("{path}?limit={bad}")).await;
            assert_eq!(
                (a.status, a.code().as_str()),
                (StatusCode::BAD_REQUEST, "invalid_query"),
                "{template}?limit={bad}"
            );
        }
        checked += 1;
    }
    assert_eq!(
        checked, 8,
        "evidence, audit notes, certificates, proposals, blocks, transactions, contract logs \
         and contract transactions are paged"
    );
}

// ---------------------------------------------------------------------------------------------
// Caching
// ---------------------------------------------------------------------------------------------

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Final objects get a stable strong tag and `immutable` (for anonymous requests), a matching
/// `If-None-Match` gets `304`; `latest`, pending transactions and live answers are not
/// immutable; bodies with and without private metadata have different tags.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn final_objects_are_cached_and_live_ones_are_not() {
    let suite = Suite::Intl;
    let (h, orgs) = start(suite, true);
    let api = &h.api;
    let writer = orgs[0].member(suite, "wendy", Role::Writer);
    let reader = orgs[0].member(suite, "rita", Role::Reader);
    let recs = records(suite, "cached", 2);
    // Nonce 2 first: it waits for 1, pending.
    let second = sign(
        &writer,
        true,
        2,
        Payload::Evidence {
            records: records(suite, "second", 1),
        },
    );
    api.submit(&second).await;
    let tx_uri = format!("/v1/transactions/{}", second.hash());
    let pending = api.get(&tx_uri).await.ok();
    assert_eq!(pending.json()["status"], "pending");
    assert_eq!(
        pending.header("cache-control"),
        "no-cache",
        "a pending transaction may change"
    );
    assert!(!pending.header("etag").is_empty());
    let pending_tag = pending.header("etag").to_owned();
    let first = sign(
        &writer,
        true,
        1,
        Payload::Evidence {
            records: recs.clone(),
        },
    );
    api.commit(&first).await;
    let status = api.wait_committed(&second.hash()).await;
    let committed = api.get(&tx_uri).await.ok();
    assert_eq!(committed.header("cache-control"), IMMUTABLE);
    assert_ne!(
        committed.header("etag"),
        pending_tag,
        "the body changed, so did the tag"
    );
    // A revalidation with the pending tag gets the new body.
    let a = api
        .request(
            "GET",
            &tx_uri,
            None,
            None,
            &[("if-none-match", &pending_tag)],
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);

    // Every final object: a stable tag, immutable, and 304 when the tag matches.
    let height = status["height"].as_u64().unwrap();
    let block_hash = api.get(&format!("/v1/blocks/{height}")).await.ok().json()["hash"]
        .as_str()
        .unwrap()
        .to_owned();
    for uri in [
        tx_uri.clone(),
        format!("/v1/transactions/{}/receipts", first.hash()),
        format!("/v1/transactions/{}/receipt", first.hash()),
        format!("/v1/blocks/{height}"),
        format!("/v1/blocks/{block_hash}"),
        "/v1/epochs/0".into(),
    ] {
        let a = api.get(&uri).await.ok();
        let b = api.get(&uri).await.ok();
        let tag = a.header("etag").to_owned();
        assert!(
            tag.starts_with('"') && tag.len() == 34,
            "{uri}: strong tag {tag:?}"
        );
        assert_eq!(tag, b.header("etag"), "{uri}: the tag is stable");
        assert_eq!(a.body, b.body, "{uri}");
        assert_eq!(a.header("cache-control"), IMMUTABLE, "{uri}");
        assert!(a.header("vary").contains("kexin-signature"), "{uri}");
        for inm in [tag.clone(), format!("\"00\", W/{tag}"), "*".into()] {
            let nm = api
                .request("GET", &uri, None, None, &[("if-none-match", &inm)])
                .await;
            assert_eq!(
                nm.status,
                StatusCode::NOT_MODIFIED,
                "{uri} If-None-Match: {inm}"
            );
            assert!(nm.body.is_empty());
            assert_eq!(nm.header("etag"), tag, "{uri}");
            assert_eq!(nm.header("cache-control"), IMMUTABLE, "{uri}");
        }
        let other = api
            .request("GET", &uri, None, None, &[("if-none-match", "\"0123\"")])
            .await;
        assert_eq!(other.status, StatusCode::OK, "{uri}");
    }

    // Disclosed and withheld bodies: different tags; the signed answer is private.
    for uri in [
        format!("/v1/transactions/{}", first.hash()),
        format!("/v1/transactions/{}/receipts", first.hash()),
        format!("/v1/transactions/{}/receipt", first.hash()),
    ] {
        let anonymous = api.get(&uri).await.ok();
        let signed = api.get_as(&uri, &reader).await.ok();
        assert!(String::from_utf8_lossy(&signed.body).contains("cached-0.pdf"));
        assert!(!String::from_utf8_lossy(&anonymous.body).contains("cached-0.pdf"));
        assert_ne!(anonymous.header("etag"), signed.header("etag"), "{uri}");
        assert_eq!(signed.header("cache-control"), "private, no-store", "{uri}");
        // The reader's tag does not match the anonymous body, and revalidates its own.
        let a = api
            .request(
                "GET",
                &uri,
                None,
                None,
                &[("if-none-match", signed.header("etag"))],
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        let mut req = Request::builder().method("GET").uri(&uri);
        for (n, v) in kexin_types::signed_read::headers(
            &reader.key,
            reader.cert.as_bytes(),
            CHAIN,
            "GET",
            &uri,
            now_ms(),
        )
        .unwrap()
        {
            req = req.header(n, v);
        }
        let req = req
            .header("if-none-match", signed.header("etag"))
            .body(Body::empty())
            .unwrap();
        let a = api.send(req).await;
        assert_eq!(a.status, StatusCode::NOT_MODIFIED, "{uri}");
        assert_eq!(a.header("cache-control"), "private, no-store", "{uri}");
    }

    // What may change: revalidated, never immutable; live answers and errors: not stored.
    for uri in [
        "/v1/blocks/latest".to_string(),
        "/v1/chain".into(),
        "/v1/checkpoint".into(),
        format!("/v1/transactions/{}/status", first.hash()),
        format!("/v1/evidence/{}", recs[0].digest),
        format!("/v1/state/evidence/{}", recs[0].digest),
        "/v1/certs".into(),
        "/v1/openapi.json".into(),
    ] {
        let a = api.get(&uri).await.ok();
        assert_eq!(a.header("cache-control"), "no-cache", "{uri}");
        let nm = api
            .request(
                "GET",
                &uri,
                None,
                None,
                &[("if-none-match", a.header("etag"))],
            )
            .await;
        assert_eq!(nm.status, StatusCode::NOT_MODIFIED, "{uri}");
    }
    let health = api.get("/v1/health").await.ok();
    assert_eq!(health.header("cache-control"), "no-store");
    assert!(health.header("etag").is_empty());
    let a = api.get("/v1/blocks/99999").await;
    assert_eq!(a.header("cache-control"), "no-store");
    let third = sign(
        &writer,
        false,
        3,
        Payload::Evidence {
            records: records(suite, "third", 1),
        },
    );
    let a = api.post("/v1/transactions", submit_body(&third)).await;
    assert_eq!(a.header("cache-control"), "no-store");

    // The document itself.
    let doc = api.get("/v1/openapi.json").await.ok();
    assert_eq!(doc.header("content-type"), "application/json");
    assert_eq!(doc.json(), api.doc.json);
}
