//! The `grpckit` binary as a user meets it: `--version`, help texts, sorted `list`, `call`
//! printing a failed call's status and decoded details, the Go tool's flag spellings, and
//! pretty logs without colour codes when stderr is not a terminal.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use grpckit_app_test::TestServer;

fn grpckit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args(args)
        .env_remove("GRPCKIT_ADDR")
        .output()
        .expect("run grpckit")
}

async fn grpckit_async(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        grpckit(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap()
}

#[test]
fn version_names_the_git_revision_and_build_profile() {
    let out = grpckit(&["--version"]);
    assert!(out.status.success());
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(
        v.starts_with(&format!("grpckit {} (git ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    assert!(
        v.contains(", debug build)") || v.contains(", release build)"),
        "{v}"
    );
    let head = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output();
    if let Some(h) = head.ok().filter(|h| h.status.success()) {
        let rev = String::from_utf8_lossy(&h.stdout).trim().to_owned();
        assert!(v.contains(&format!("(git {rev},")), "{v} vs {rev}");
    }
}

#[test]
fn help_describes_the_product() {
    let top = String::from_utf8_lossy(&grpckit(&["--help"]).stdout).into_owned();
    for needle in [
        "gRPC microservice server and a gRPC toolbox",
        "user.v1.UserService",
        "like grpcurl",
        "like ghz",
        "server",
        "Load test any method",
        "Examples:",
    ] {
        assert!(top.contains(needle), "{needle:?} not in:\n{top}");
    }
    let server = String::from_utf8_lossy(&grpckit(&["server", "--help"]).stdout).into_owned();
    for needle in [
        "order.v1.OrderService",
        "/metrics",
        "Authentication is on",
        "--shutdown-grace",
    ] {
        assert!(server.contains(needle), "{needle:?} not in:\n{server}");
    }
    for text in [&top, &server] {
        assert!(!text.contains("SPEC"), "internal document named:\n{text}");
    }
}

#[tokio::test]
async fn list_output_is_sorted() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    for extra in [
        None,
        Some("user.v1.UserService"),
        Some("order.v1.OrderService"),
    ] {
        let mut args = vec!["list", "--addr", &addr];
        args.extend(extra);
        let out = grpckit_async(&args).await;
        assert!(out.status.success());
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        assert!(lines.len() > 2, "{lines:?}");
        let mut sorted = lines.clone();
        sorted.sort();
        assert_eq!(lines, sorted);
    }
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn call_prints_decoded_bad_request_details() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    let out = grpckit_async(&[
        "call",
        "--addr",
        &addr,
        "user.v1.UserService/CreateUser",
        "-d",
        r#"{"name":"Ada","email":"not-an-email","password":"short"}"#,
    ])
    .await;
    assert_eq!(out.status.code(), Some(64 + 3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Code: INVALID_ARGUMENT"), "{err}");
    assert!(!err.contains("bytes (grpc-status-details-bin)"), "{err}");
    assert!(err.contains("    BadRequest:\n"), "{err}");
    assert!(
        err.contains("    ErrorInfo: reason INVALID_FIELDS domain grpckit\n"),
        "{err}"
    );
    let violation = |field: &str| {
        err.lines()
            .find_map(|l| l.strip_prefix(&format!("      {field}: ")))
            .unwrap_or_else(|| panic!("no {field} violation in:\n{err}"))
            .to_owned()
    };
    assert!(violation("email").contains("email"), "{err}");
    assert!(violation("password").contains('8'), "{err}");
    assert!(!err.lines().any(|l| l.starts_with("      name: ")), "{err}");

    // -v adds the failed call's metadata.
    let args = [
        "call",
        "--addr",
        &addr,
        "user.v1.UserService/GetUser",
        "-d",
        r#"{"id":"nobody"}"#,
    ];
    let plain = grpckit_async(&args).await;
    let verbose = grpckit_async(&[&args[..], &["-v"]].concat()).await;
    for o in [&plain, &verbose] {
        assert_eq!(o.status.code(), Some(64 + 5));
        assert!(String::from_utf8_lossy(&o.stderr).contains("Code: NOT_FOUND"));
    }
    let v = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        v.contains("  Metadata:\n") && v.contains("content-type:"),
        "{v}"
    );
    assert!(!String::from_utf8_lossy(&plain.stderr).contains("Metadata:"));
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn go_flag_spellings_and_flags_before_the_command() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    let out = grpckit_async(&[&format!("-addr={addr}"), "list"]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("user.v1.UserService"));
    let out = grpckit_async(&["--addr", &addr, "list", "user.v1.UserService"]).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("user.v1.UserService.GetUser"));
    // Go's flag package: the mode flag anywhere among the flags, `-name=value` or `-name value`.
    let out = grpckit_async(&[
        &format!("-addr={addr}"),
        "-perf",
        "-call",
        "grpc.health.v1.Health/Check",
        "-n",
        "5",
        "-json",
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], 5);
    srv.stop().await.unwrap();
}

#[test]
fn pretty_logs_have_no_colour_codes_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--log-format",
            "pretty",
            "--log-level",
            "info",
            "--database-url",
            &db,
        ])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let until = Instant::now() + Duration::from_secs(30);
    let mut lines = Vec::new();
    while Instant::now() < until {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            let done = l.contains("grpckit serving");
            lines.push(l);
            if done {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines.iter().any(|l| l.contains("grpckit serving")),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains('\u{1b}')),
        "colour codes in piped logs: {lines:?}"
    );
}
