//! Start-up failures as a user sees them: fast, naming the address or file, with the OS
//! error, and each cause said once.

use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Runs `grpckit ARGS` in a temp dir, killing it after 30 s; returns the output and how
/// long it ran.
fn run(args: &[&str]) -> (Output, Duration, String) {
    let dir = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .env_remove("GRPCKIT_DATABASE_URL")
        .env_remove("GRPCKIT_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let took = start.elapsed();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, took, text)
}

fn server(extra: &[&str]) -> (Output, Duration, String) {
    let mut args = vec![
        "server",
        "--listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    run(&args)
}

/// No line says the same thing twice in a row, e.g. `tcp connect error: tcp connect error`.
fn no_repeats(text: &str) {
    for line in text.lines() {
        let parts: Vec<&str> = line.split(": ").collect();
        for w in parts.windows(2) {
            assert_ne!(w[0].trim(), w[1].trim(), "repeated cause in: {line}");
        }
    }
}

#[test]
fn closed_postgres_port_fails_fast_naming_the_address_and_the_os_error() {
    let port = free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/grpckit");
    let (out, took, text) = server(&["--database-url", &url]);
    assert!(!out.status.success(), "{text}");
    // A correctness bound (no 10 s pool timeout), not a performance target.
    assert!(took < Duration::from_secs(5), "took {took:?}: {text}");
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(
        text.to_lowercase().contains("connection refused"),
        "the OS error: {text}"
    );
    assert!(!text.contains("pool timed out"), "{text}");
    no_repeats(&text);
}

#[test]
fn bad_sqlite_path_is_named() {
    let missing = tempfile::tempdir().unwrap();
    let path = missing.path().join("no-such-dir").join("grpckit.db");
    let url = format!("sqlite://{}", path.display());
    let (out, _, text) = server(&["--database-url", &url]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    no_repeats(&text);
}

#[test]
fn config_errors_name_the_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "server:\n  port: 99999\n").unwrap();
    let (out, _, text) = server(&["--config", file.to_str().unwrap()]);
    assert!(!out.status.success(), "{text}");
    assert_eq!(text.matches("server.port").count(), 1, "{text}");
    no_repeats(&text);
    let missing = dir.path().join("missing.yaml");
    let (out, _, text) = server(&["--config", missing.to_str().unwrap()]);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("missing.yaml"), "{text}");
    assert_eq!(
        text.matches("No such file").count(),
        1,
        "the OS error once: {text}"
    );
}

#[test]
fn unreachable_server_error_says_each_cause_once() {
    let port = free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    for cmd in ["client", "stream"] {
        let (out, _, text) = run(&[cmd, "--addr", &addr, "--timeout", "3s"]);
        assert!(!out.status.success(), "{text}");
        assert!(text.contains(&port), "{cmd}: {text}");
        no_repeats(&text);
    }
}
