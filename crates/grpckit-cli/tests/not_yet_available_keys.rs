//! Keys are never silently ignored: `server.enable_tls: true` without a certificate and key
//! stops the start with a config error naming the missing keys (rather than serving
//! plaintext); `server.keep_alive.min_time`, enforced since the connection guard polices
//! PINGs, is no longer warned about.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use grpckit_app_test::ServerProcess;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// Writes `yaml` as `grpckit.yaml` in `dir` and returns its path.
fn config_file(dir: &tempfile::TempDir, yaml: &str) -> String {
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(&file, yaml).unwrap();
    file.to_str().unwrap().to_owned()
}

#[test]
fn enable_tls_without_certificate_is_refused_at_start_naming_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(&dir, "server:\n  enable_tls: true\n");
    let mut child = Command::new(BIN)
        .args(["server", "--config", &cfg])
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("GRPCKIT_CONFIG")
        .env_remove("GRPCKIT_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A config error exits at once; a server that started anyway is killed after 30 s.
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "must not start: {text}");
    assert!(out.status.code().is_some(), "exited by itself: {text}");
    assert!(text.contains("server.enable_tls"), "names the key: {text}");
    assert!(
        text.contains("server.tls.cert_file"),
        "names what is missing: {text}"
    );
    assert!(
        text.contains("server.tls.key_file"),
        "names what is missing: {text}"
    );
    assert!(!text.contains("grpckit serving"), "never served: {text}");
}

/// Every JSON log line of `p` until it exits (after SIGTERM).
fn lines_until_exit(mut p: ServerProcess) -> Vec<serde_json::Value> {
    p.terminate().unwrap();
    p.wait_exit(Duration::from_secs(30)).unwrap();
    let mut lines = p.drain_logs();
    // The process is gone: the reader thread ends at end of file.
    while let Ok(line) = p.logs.recv_timeout(Duration::from_secs(5)) {
        lines.push(line);
    }
    lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

#[test]
fn min_time_is_enforced_so_not_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_file(&dir, "server:\n  keep_alive:\n    min_time: 5s\n");
    let p = ServerProcess::spawn(BIN.as_ref(), &["--config", &cfg], &[], dir.path()).unwrap();
    let lines = lines_until_exit(p);
    assert!(
        lines.iter().any(|v| v["message"] == "server stopped"),
        "the serving task ran to its end: {lines:#?}"
    );
    assert!(
        !lines
            .iter()
            .any(|v| v["key"] == "server.keep_alive.min_time"
                || v["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("not enforced")),
        "{lines:#?}"
    );
}
