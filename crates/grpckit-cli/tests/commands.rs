//! The `grpckit client|stream|perf` commands as a user runs them, against a real server.

use std::process::Command;

use grpckit_app_test::TestServer;

fn grpckit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args(args)
        .output()
        .expect("run grpckit")
}

#[tokio::test]
async fn client_stream_and_perf_pass_against_a_live_server() {
    let srv = TestServer::start().await.unwrap();
    let addr = srv.addr.to_string();
    let addr2 = addr.clone();
    let out = tokio::task::spawn_blocking(move || grpckit(&["client", "--addr", &addr2]))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for m in [
        "CreateUser",
        "GetUser",
        "UpdateUser",
        "DeleteUser",
        "ListUsers",
        "Login",
        "CreateOrder",
        "GetOrder",
        "ListOrders",
        "CancelOrder",
        "PayOrder",
    ] {
        assert!(text.contains(m), "{m} not exercised:\n{text}");
    }

    // The original's spelling: -stream -addr
    let addr2 = addr.clone();
    let out = tokio::task::spawn_blocking(move || grpckit(&["-stream", "-addr", &addr2]))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stream failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("5/5 stream checks passed"), "{text}");

    let addr2 = addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        grpckit(&["perf", "--addr", &addr2, "-c", "4", "-n", "200", "--json"])
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("perf --json prints JSON");
    assert_eq!(report["total"], 200);
    assert_eq!(report["errors"], 0);
    assert!(report["p99_ms"].as_f64().unwrap() >= report["p50_ms"].as_f64().unwrap());
}

#[tokio::test]
async fn client_passes_against_a_server_without_auth() {
    // `--no-auth`: a normal user may list users, and the client expects that there.
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    let out = tokio::task::spawn_blocking(move || grpckit(&["client", "--addr", &addr]))
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client failed:\n{text}");
    assert!(text.contains("auth disabled"), "{text}");
    assert!(text.contains("ListUsers (as user)"), "{text}");
}

#[test]
fn unreachable_server_is_a_clear_error() {
    let out = grpckit(&["client", "--addr", "127.0.0.1:1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach 127.0.0.1:1"), "{err}");
}

#[test]
fn bad_config_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("server:\n  prot: 9090\n", "prot"),
        (
            "server:\n  keep_alive:\n    time: soon\n",
            "server.keep_alive.time",
        ),
        (
            "client:\n  load_balancing_policy: random\n",
            "client.load_balancing_policy",
        ),
        (
            "server:\n  max_concurrent_streams: 0\n",
            "server.max_concurrent_streams",
        ),
        ("server: [1, 2\n", "config"),
    ];
    for (i, (yaml, needle)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.yaml"));
        std::fs::write(&path, yaml).unwrap();
        let out = grpckit(&[
            "server",
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ]);
        assert!(!out.status.success(), "{yaml} accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) || (*needle == "config" && err.contains("c4.yaml")),
            "{yaml}: {err}"
        );
    }
    let out = grpckit(&[
        "server",
        "--listen",
        "nonsense",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--listen"));
    let out = grpckit(&[
        "server",
        "--database-url",
        "mysql://x",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("database.url"));
}
