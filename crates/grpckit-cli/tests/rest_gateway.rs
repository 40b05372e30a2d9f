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

use std::process::{Command, Stdio};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_annotated_method_over_rest_with_python_requests_and_curl() {
    if !tools_or_skip("every_annotated_method_over_rest_with_python_requests_and_curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("grpckit.yaml");
    // Fast logistics: PAID -> SHIPPED -> DELIVERED within a second.
    let yaml = format!("logistics:\n  interval: 300ms\n{}", roomy_rate_rules_yaml());
    std::fs::write(&config, yaml).unwrap();
    let server = ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", config.to_str().unwrap()],
        &[
            ("GRPCKIT_ADMIN_EMAIL", ADMIN_EMAIL),
            ("GRPCKIT_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
        dir.path(),
    )
    .unwrap();

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
