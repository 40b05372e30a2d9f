//! One port, every protocol, one answer: the same calls over native gRPC (Python grpcio),
//! gRPC-Web, Connect and REST/JSON (Python requests) give the same result, the same status
//! and the same `google.rpc` details for the same error (tests/py/bridge_parity.py, a table).
//! Also checks the bridges' own metric counts the calls by protocol with the gRPC labels.

use std::process::Command;

use grpckit_app_test::{TestServer, http_get, require_tool};

fn has_python() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import grpc, grpc_reflection, requests, google.protobuf",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn the_same_call_gives_the_same_answer_over_every_protocol() {
    if !require_tool(
        "the_same_call_gives_the_same_answer_over_every_protocol",
        has_python(),
        "python3 with grpcio, grpcio-reflection and requests",
    ) {
        return;
    }
    let srv = TestServer::start().await.unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/bridge_parity.py");
    let addr = srv.addr.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([script, &addr])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && text.contains("parity ok"), "{text}");

    let metrics = http_get(srv.admin_addr, "/metrics").await.unwrap();
    for protocol in ["grpc_web", "connect", "rest"] {
        let unauth = format!(
            "grpckit_bridge_calls_total{{grpc_code=\"UNAUTHENTICATED\",grpc_method=\"GetUser\",grpc_service=\"user.v1.UserService\",grpc_type=\"unary\",protocol=\"{protocol}\"}} 1"
        );
        assert!(
            metrics.contains(&unauth),
            "{unauth} missing from:\n{}",
            metrics
                .lines()
                .filter(|l| l.starts_with("grpckit_bridge"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // The go-grpc-prometheus series keep their labels: a bridged call counts there as the
    // gRPC call it became (1 native + 3 bridged unauthenticated GetUser calls).
    assert!(
        metrics.contains("grpc_server_handled_total{grpc_code=\"Unauthenticated\",grpc_method=\"GetUser\",grpc_service=\"user.v1.UserService\",grpc_type=\"unary\"} 4"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.starts_with("grpc_server_handled_total"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test]
async fn bridges_switched_off_leave_only_grpc() {
    let srv = TestServer::start_with(|cfg| {
        cfg.server.http.enabled = false;
        cfg.server.http.openapi = false;
    })
    .await
    .unwrap();
    // Native gRPC still answers.
    let mut health = tonic_health::pb::health_client::HealthClient::new(srv.channel().await);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("gRPC health");
    // Every other protocol gets 404 (no REST route, no OpenAPI document, no Connect).
    for path in [
        "/v1/users/x",
        "/openapi.json",
        "/user.v1.UserService/GetUser",
    ] {
        let err = http_get(srv.addr, path).await.expect_err(path).to_string();
        assert!(err.contains("HTTP/1.1 404"), "{path}: {err}");
    }
}
