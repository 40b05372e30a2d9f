//! REST/JSON transcoding on the real `grpckit server` binary's gRPC port: every method of
//! `user.v1.UserService` and `order.v1.OrderService` with a `google.api.http` annotation,
//! called by `tests/py/rest_gateway.py` with Python `requests` (HTTP/1.1) and `curl` (`-N`
//! for Server-Sent Events, `--http2-prior-knowledge` for h2c): path, query and body
//! binding, client streams as newline-delimited JSON, server streams as SSE and NDJSON
//! (`TrackOrder` followed while the order is paid, shipped and delivered), and the error
//! mapping (401, 400 with `BadRequest`, 403, 404, 405 with `Allow`, malformed JSON, unknown
//! fields and query parameters, `?pretty`). Then the bridge metrics must count each method
//! as an OK REST call.
//!
//! Skipped (with a reason) without python3 + `requests` or `curl`; under `CI=true` that
//! fails instead.

use std::{
    path::Path,
    process::{Command, Stdio},
};

use grpckit_app_test::{ServerProcess, http_get, require_tool, roomy_rate_rules_yaml};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const ADMIN_EMAIL: &str = "root@example.com";
const ADMIN_PASSWORD: &str = "admin-password-123";

/// Every annotated method of the reference services.
const METHODS: &[(&str, &str)] = &[
    ("user.v1.UserService", "CreateUser"),
    ("user.v1.UserService", "GetUser"),
    ("user.v1.UserService", "UpdateUser"),
    ("user.v1.UserService", "DeleteUser"),
    ("user.v1.UserService", "ListUsers"),
    ("user.v1.UserService", "Login"),
    ("user.v1.UserService", "StreamUserActivity"),
    ("user.v1.UserService", "BatchCreateUsers"),
    ("order.v1.OrderService", "CreateOrder"),
    ("order.v1.OrderService", "GetOrder"),
    ("order.v1.OrderService", "ListOrders"),
    ("order.v1.OrderService", "CancelOrder"),
    ("order.v1.OrderService", "PayOrder"),
    ("order.v1.OrderService", "TrackOrder"),
    ("order.v1.OrderService", "UploadOrders"),
];

fn tools_or_skip(test: &str) -> bool {
    let python = Command::new("python3")
        .args(["-c", "import requests"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let curl = Command::new("curl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("HTTP2"));
    require_tool(
        test,
        python && curl,
        "python3 with requests, and curl with HTTP/2 (scripts/install-test-tools.sh)",
    )
}

/// The server binary in `dir` with fast logistics (PAID -> SHIPPED -> DELIVERED within a
/// second), roomy limits and a bootstrapped admin.
fn spawn(dir: &Path) -> ServerProcess {
    let config = dir.join("grpckit.yaml");
    let yaml = format!("logistics:\n  interval: 300ms\n{}", roomy_rate_rules_yaml());
    std::fs::write(&config, yaml).unwrap();
    ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", config.to_str().unwrap()],
        &[
            ("GRPCKIT_ADMIN_EMAIL", ADMIN_EMAIL),
            ("GRPCKIT_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
        dir,
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_annotated_method_over_rest_with_python_requests_and_curl() {
    if !tools_or_skip("every_annotated_method_over_rest_with_python_requests_and_curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path());

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/rest_gateway.py");
    let url = server.url();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args([&url, ADMIN_EMAIL, ADMIN_PASSWORD])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "rest_gateway.py failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(
        stdout.lines().last().is_some_and(|l| l.starts_with("OK ")),
        "{stdout}"
    );

    // The bridge metrics counted every method as an OK REST call, but the live activity
    // feed, which only ends when the client leaves: CANCELLED, in the bridge's series and in
    // the server's own (the handler was cancelled).
    let metrics = http_get(server.admin_addr, "/metrics").await.unwrap();
    for (service, method) in METHODS {
        let code = if *method == "StreamUserActivity" {
            "CANCELLED"
        } else {
            "OK"
        };
        let ok = metrics.lines().any(|l| {
            l.starts_with("grpckit_bridge_calls_total{")
                && l.contains("protocol=\"rest\"")
                && l.contains(&format!("grpc_service=\"{service}\""))
                && l.contains(&format!("grpc_method=\"{method}\""))
                && l.contains(&format!("grpc_code=\"{code}\""))
        });
        assert!(
            ok,
            "no {code} REST call of {service}/{method} counted:\n{metrics}"
        );
    }
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("grpc_server_handled_total{")
                && l.contains("grpc_code=\"Canceled\"")
                && l.contains("grpc_method=\"StreamUserActivity\"")),
        "{metrics}"
    );
    // Refusals are counted with their code too.
    assert!(
        metrics.lines().any(|l| l.contains("protocol=\"rest\"")
            && l.contains("grpc_method=\"GetUser\"")
            && l.contains("grpc_code=\"UNAUTHENTICATED\"")),
        "{metrics}"
    );
}

/// The `sh` block of README's "REST/JSON" section.
fn readme_block() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let section = readme
        .split("\n## ")
        .flat_map(|s| s.split("\n### "))
        .find(|s| s.starts_with("REST/JSON"))
        .expect("README has a REST/JSON section");
    let start = section.find("```sh\n").expect("an sh block") + "```sh\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_owned()
}

/// README's REST examples, run as written (only `localhost:9090` is the test server's
/// address): each line works and prints what its comment says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_rest_examples_work() {
    if !tools_or_skip("readme_rest_examples_work") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = spawn(dir.path());
    let script = readme_block().replace("localhost:9090", &server.addr.to_string());
    let cwd = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .args(["120", "bash", "-euo", "pipefail", "-c", &script])
            .current_dir(cwd)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for expected in [
        "\"email\": \"grace@example.com\"",          // GetUser ?pretty
        "\"name\":\"Grace H.\"",                     // UpdateUser
        "\"totalMinor\":\"3000\"",                   // ListOrders
        "\"paymentId\"",                             // PayOrder
        "data: {\"orderId\"",                        // TrackOrder as SSE
        "ORDER_STATUS_DELIVERED",                    // ... to the end
        "\"createdCount\":1",                        // UploadOrders
        "{\"code\":16,",                             // 401
        "type.googleapis.com/google.rpc.BadRequest", // 400
    ] {
        assert!(stdout.contains(expected), "no {expected} in\n{stdout}");
    }
    let states: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|l| l.split("\"status\":\"").nth(1))
        .filter_map(|l| l.split('"').next())
        .collect();
    // Subscribed after paying: the current state first (PAID, or SHIPPED on a slow
    // machine), then each change to the end.
    let all = [
        "ORDER_STATUS_PAID",
        "ORDER_STATUS_SHIPPED",
        "ORDER_STATUS_DELIVERED",
    ];
    assert!(
        !states.is_empty() && all.ends_with(&states),
        "{states:?} in\n{stdout}"
    );
}
