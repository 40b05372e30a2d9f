//! gRPC-Web, Connect and CORS on the gRPC port of the real `grpckit server` binary, with
//! outside clients over loopback:
//!
//! - the official clients from npm (`@connectrpc/connect-node` 2.1, Connect and gRPC-Web
//!   transports, JSON and binary, HTTP/1.1 and HTTP/2; `tests/node/web_protocols.mjs`), the
//!   services loaded at run time from the descriptor set this test writes;
//! - `buf curl --protocol connect|grpcweb` (npm `@bufbuild/buf`);
//! - gRPC-Web text and `+json` framed by hand, and CORS, with Python `requests`
//!   (`tests/py/web_by_hand.py`).
//!
//! Without node and the npm packages (`scripts/install-test-tools.sh`) or Python `requests`:
//! SKIPPED, except under `CI=true` where that fails.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use grpckit_app_test::{
    ServerProcess, TestUser, authed, http_get, require_tool, roomy_rate_rules_yaml, sign_up,
};
use grpckit_services::proto::{
    FILE_DESCRIPTOR_SET,
    order::v1::{
        CreateOrderRequest, GetOrderRequest, OrderItem, PayOrderRequest,
        order_service_client::OrderServiceClient,
    },
    user::v1::user_service_client::UserServiceClient,
};
use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
/// The origin the server allows (`server.http.cors.allowed_origins`).
const ORIGIN: &str = "https://app.example.com";

fn tests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn node_dir() -> PathBuf {
    tests_dir().join("node")
}

fn buf_bin() -> PathBuf {
    node_dir().join("node_modules/.bin/buf")
}

fn runs(program: &Path, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn node_ready() -> bool {
    runs(Path::new("node"), &["--version"])
        && node_dir()
            .join("node_modules/@connectrpc/connect-node/package.json")
            .exists()
        && node_dir()
            .join("node_modules/@bufbuild/protobuf/package.json")
            .exists()
}

fn python_requests_ready() -> bool {
    runs(Path::new("python3"), &["-c", "import requests"])
}

/// The binary in `dir` with roomy limits on the public methods, a fast logistics simulator
/// (orders move PAID -> SHIPPED -> DELIVERED every 500 ms) and CORS for [`ORIGIN`].
fn start(dir: &Path) -> ServerProcess {
    let config = format!(
        "{}logistics:\n  interval: 500ms\nserver:\n  http:\n    cors:\n      allowed_origins: [\"{ORIGIN}\"]\n      max_age: 10m\n",
        roomy_rate_rules_yaml()
    );
    let path = dir.join("web-protocols.yaml");
    std::fs::write(&path, config).expect("write config");
    let path = path.to_str().expect("utf-8 path").to_owned();
    ServerProcess::spawn(BIN.as_ref(), &[], &[("GRPCKIT_CONFIG", &path)], dir).expect("server")
}

/// The services' descriptor set (with imports) in `dir`, for the clients' schemas.
fn write_descriptors(dir: &Path) -> PathBuf {
    let path = dir.join("descriptors.binpb");
    std::fs::write(&path, FILE_DESCRIPTOR_SET).expect("write descriptors");
    path
}

/// Runs a command (at most 3 minutes) and returns its stdout; panics with both outputs
/// when it fails.
async fn run_ok(cmd: &mut tokio::process::Command, what: &str) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(180),
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{what}: timed out"))
    .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    stdout
}

/// The value of the `grpckit_bridge_calls_total` series with all of `labels`.
fn bridge_calls(metrics: &str, labels: &[&str]) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("grpckit_bridge_calls_total{"))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_clients_call_over_connect_and_grpc_web() {
    if !require_tool(
        "official_clients_call_over_connect_and_grpc_web",
        node_ready(),
        "node 20 with tests/node/node_modules (scripts/install-test-tools.sh)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let descriptors = write_descriptors(dir.path());
    run_ok(
        tokio::process::Command::new("node")
            .arg(node_dir().join("web_protocols.mjs"))
            .arg(server.url())
            .arg(&descriptors)
            .current_dir(node_dir()),
        "node web_protocols.mjs",
    )
    .await;

    // Each protocol is counted with the method's labels, the same codes for the same errors.
    let metrics = http_get(server.admin_addr, "/metrics").await.unwrap();
    for protocol in ["connect", "grpc_web"] {
        let p = format!("protocol=\"{protocol}\"");
        for (method, code) in [
            ("GetUser", "OK"),
            ("GetOrder", "NOT_FOUND"),
            ("CreateUser", "INVALID_ARGUMENT"),
            ("TrackOrder", "OK"),
            ("BatchCreateUsers", "OK"),
            ("Chat", "OK"),
        ] {
            let m = format!("grpc_method=\"{method}\"");
            let c = format!("grpc_code=\"{code}\"");
            assert!(
                bridge_calls(&metrics, &[&p, &m, &c]) >= 1.0,
                "no {protocol} {method} {code} in grpckit_bridge_calls_total:\n{}",
                metrics
                    .lines()
                    .filter(|l| l.starts_with("grpckit_bridge"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
    assert!(
        bridge_calls(
            &metrics,
            &["protocol=\"grpc_web\"", "grpc_type=\"server_stream\""]
        ) >= 3.0
    );
}

/// Runs `buf curl` with `args` and the schema; returns (success, stdout, stderr).
async fn buf_curl(schema: &Path, args: &[&str]) -> (bool, String, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(buf_bin())
            .arg("curl")
            .arg("--schema")
            .arg(schema)
            .args(args)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("buf curl timed out")
    .expect("buf curl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A paid order of `user`, made over native gRPC.
async fn new_order(
    orders: &mut OrderServiceClient<tonic::transport::Channel>,
    user: &TestUser,
) -> String {
    orders
        .create_order(authed(
            CreateOrderRequest {
                request_id: uuid::Uuid::new_v4().to_string(),
                user_id: user.id.clone(),
                items: vec![OrderItem {
                    sku: "SKU-BUF".into(),
                    quantity: 1,
                    unit_price_minor: 700,
                }],
                currency: String::new(),
            },
            &user.token,
        ))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap()
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buf_curl_speaks_connect_and_grpc_web() {
    if !require_tool(
        "buf_curl_speaks_connect_and_grpc_web",
        node_ready() && runs(&buf_bin(), &["--version"]),
        "buf from npm @bufbuild/buf in tests/node (scripts/install-test-tools.sh)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let schema = write_descriptors(dir.path());
    let channel = tonic::transport::Channel::from_shared(server.url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let user = sign_up(&mut UserServiceClient::new(channel.clone()), "buf")
        .await
        .unwrap();
    let mut orders = OrderServiceClient::new(channel);
    let auth = format!("authorization: Bearer {}", user.token);
    let base = server.url();
    let get_user = format!("{base}/user.v1.UserService/GetUser");
    let get_order = format!("{base}/order.v1.OrderService/GetOrder");
    let track = format!("{base}/order.v1.OrderService/TrackOrder");
    let unknown = uuid::Uuid::new_v4().to_string();
    // The code native gRPC gives for the same error.
    let native = orders
        .get_order(authed(
            GetOrderRequest {
                id: unknown.clone(),
            },
            &user.token,
        ))
        .await
        .unwrap_err()
        .code();
    assert_eq!(native, tonic::Code::NotFound);

    for (protocol, h2) in [
        ("connect", false),
        ("connect", true),
        ("grpcweb", false),
        ("grpcweb", true),
    ] {
        let mut common = vec!["--protocol", protocol, "-H", &auth];
        if h2 {
            common.push("--http2-prior-knowledge");
        }
        let what = format!("buf curl --protocol {protocol} (h2c: {h2})");
        // Unary.
        let data = format!("{{\"id\":\"{}\"}}", user.id);
        let (ok, out, err) =
            buf_curl(&schema, &[&common[..], &["-d", &data, &get_user]].concat()).await;
        assert!(ok, "{what} GetUser: {out}\n{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("JSON answer");
        assert_eq!(v["user"]["email"], user.email, "{what}: {out}");
        // The same error as over gRPC.
        let data = format!("{{\"id\":\"{unknown}\"}}");
        let (ok, out, err) =
            buf_curl(&schema, &[&common[..], &["-d", &data, &get_order]].concat()).await;
        assert!(!ok, "{what} GetOrder of an unknown order succeeded: {out}");
        assert!(err.contains("\"not_found\""), "{what}: {err}");
        // Server streaming, followed while the order is paid, shipped and delivered.
        let order = new_order(&mut orders, &user).await;
        let data = format!("{{\"orderId\":\"{order}\"}}");
        let mut child = tokio::process::Command::new(buf_bin())
            .arg("curl")
            .arg("--schema")
            .arg(&schema)
            .args(&common)
            .args(["-d", &data, &track])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("buf curl runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut states = Vec::new();
        let followed = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(s) = line.split('"').find(|w| w.starts_with("ORDER_STATUS_")) {
                    states.push(s.to_owned());
                    if states.len() == 1 {
                        // The stream is open: pay, and watch the order move on.
                        orders
                            .pay_order(authed(
                                PayOrderRequest {
                                    id: order.clone(),
                                    ..Default::default()
                                },
                                &user.token,
                            ))
                            .await
                            .unwrap();
                    }
                }
            }
        })
        .await;
        assert!(
            followed.is_ok(),
            "{what} TrackOrder: stream did not end ({states:?})"
        );
        let status = child.wait().await.unwrap();
        assert!(status.success(), "{what} TrackOrder exit {status}");
        assert_eq!(
            states,
            [
                "ORDER_STATUS_CREATED",
                "ORDER_STATUS_PAID",
                "ORDER_STATUS_SHIPPED",
                "ORDER_STATUS_DELIVERED"
            ],
            "{what} TrackOrder"
        );
        println!("ok {what}: GetUser, NOT_FOUND, TrackOrder {states:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_text_and_json_framed_by_hand() {
    if !require_tool(
        "grpc_web_text_and_json_framed_by_hand",
        python_requests_ready(),
        "python3 with requests (pip install requests)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    run_ok(
        tokio::process::Command::new("python3")
            .arg(tests_dir().join("py/web_by_hand.py"))
            .arg("text-json")
            .arg(server.url()),
        "web_by_hand.py text-json",
    )
    .await;
    // The deadlines reached the handler, and the client that left mid-stream cancelled it
    // (the native series say so too, the call having been a gRPC call in the stack).
    let want: [&[&str]; 4] = [
        &[
            "grpckit_bridge_calls_total{",
            "protocol=\"grpc_web\"",
            "grpc_method=\"TrackOrder\"",
            "grpc_code=\"CANCELLED\"",
        ],
        &[
            "grpc_server_handled_total{",
            "grpc_method=\"TrackOrder\"",
            "grpc_code=\"Canceled\"",
        ],
        &[
            "grpckit_bridge_calls_total{",
            "protocol=\"connect\"",
            "grpc_method=\"TrackOrder\"",
            "grpc_code=\"DEADLINE_EXCEEDED\"",
        ],
        &[
            "grpckit_bridge_calls_total{",
            "protocol=\"grpc_web\"",
            "grpc_method=\"TrackOrder\"",
            "grpc_code=\"DEADLINE_EXCEEDED\"",
        ],
    ];
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = http_get(server.admin_addr, "/metrics").await.unwrap();
        if want.iter().all(|labels| {
            metrics
                .lines()
                .any(|l| labels.iter().all(|w| l.contains(w)))
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "missing series {want:?} in:\n{}",
        metrics
            .lines()
            .filter(|l| l.contains("TrackOrder") && !l.contains("_bucket"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_and_answer_headers_over_the_network() {
    if !require_tool(
        "cors_preflight_and_answer_headers_over_the_network",
        python_requests_ready(),
        "python3 with requests (pip install requests)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    run_ok(
        tokio::process::Command::new("python3")
            .arg(tests_dir().join("py/web_by_hand.py"))
            .arg("cors")
            .arg(server.url())
            .arg(ORIGIN),
        "web_by_hand.py cors",
    )
    .await;
}
