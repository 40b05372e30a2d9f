//! `grpckit perf` runs that fail: a run whose calls all fail is flagged first in every report
//! form and on the terminal (also with `-o`), and a run whose server goes away stops after
//! `--max-connect-failures` calls in a row with a message naming the address and the OS error.

use std::{
    process::{Command, Output, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use grpckit_app_test::TestServer;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinSet,
};

fn grpckit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args(args)
        .output()
        .expect("run grpckit")
}

#[tokio::test]
async fn an_all_failing_run_is_flagged_in_every_report() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "perf",
        "--addr",
        &addr,
        "--call",
        "user.v1.UserService/GetUser",
        "-d",
        r#"{"id":"nobody"}"#,
        "-n",
        "20",
        "-c",
        "2",
    ]
    .map(String::from);
    let run = |extra: Vec<String>| {
        let args: Vec<String> = base.iter().cloned().chain(extra).collect();
        tokio::task::spawn_blocking(move || {
            grpckit(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let json_path = dir.path().join("r.json");
    let html_path = dir.path().join("r.html");
    let json_out = run(vec![
        "--json".into(),
        "-o".into(),
        json_path.display().to_string(),
    ]);
    let html_out = run(vec![
        "--format".into(),
        "html".into(),
        "-o".into(),
        html_path.display().to_string(),
    ]);
    let text_out = run(Vec::new());
    let (json_out, html_out, text_out) = (
        json_out.await.unwrap(),
        html_out.await.unwrap(),
        text_out.await.unwrap(),
    );

    for o in [&json_out, &html_out, &text_out] {
        assert_eq!(o.status.code(), Some(1), "perf fails when calls fail");
    }
    // With -o the terminal still gets the summary, warning and status codes first.
    for o in [&json_out, &html_out] {
        let out = String::from_utf8_lossy(&o.stdout);
        let first = out.lines().nth(1).unwrap_or_default();
        assert!(
            first.contains("WARNING: 100.0% of calls failed (20 of 20)"),
            "{out}"
        );
        assert!(out.contains("NOT_FOUND 20 (100.0%)"), "{out}");
        assert!(out.contains("OK req/s:    0.0"), "{out}");
    }

    let raw = std::fs::read_to_string(&json_path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(json["error_rate"], 1.0);
    assert_eq!(json["ok_rps"], 0.0);
    assert!(json["rps"].as_f64().unwrap() > 0.0);
    assert!(
        json["warning"]
            .as_str()
            .is_some_and(|w| w.contains("mostly NOT_FOUND")),
        "{json}"
    );
    // The failure figures come before the throughput and latency.
    let at = |key: &str| raw.find(&format!("\"{key}\"")).unwrap();
    assert!(at("warning") < at("rps") && at("errors_by_code") < at("rps"));
    assert!(at("error_rate") < at("latency_ms"));

    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.contains("<title>FAILED: grpckit perf"), "{html}");
    let alert = html.find(r#"class="alert""#).expect("alert banner");
    let status = html.find(r#"id="status-codes""#).expect("status table");
    let latency = html.find("<h2>Latency").unwrap();
    assert!(alert < status && status < latency);
    assert!(html.contains("100.0% of calls failed"));

    let text = String::from_utf8_lossy(&text_out.stdout);
    let head: Vec<&str> = text.lines().take(3).collect();
    assert!(head[1].contains("WARNING"), "{text}");
    assert!(head[2].contains("NOT_FOUND 20 (100.0%)"), "{text}");
    srv.stop().await.unwrap();
}

#[tokio::test]
async fn a_healthy_run_has_no_warning_and_splits_ok_throughput() {
    let srv = TestServer::start_open().await.unwrap();
    let addr = srv.addr.to_string();
    let o = tokio::task::spawn_blocking(move || {
        grpckit(&[
            "perf",
            "--addr",
            &addr,
            "--call",
            "grpc.health.v1.Health/Check",
            "-n",
            "20",
            "--json",
        ])
    })
    .await
    .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(json["warning"].is_null() && json["aborted"].is_null());
    assert_eq!(json["error_rate"], 0.0);
    assert_eq!(json["ok_rps"], json["rps"]);
    // The JSON report is on stdout; the summary went to stderr.
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("Status:      OK 20 (100.0%)"), "{err}");
    srv.stop().await.unwrap();
}

/// A TCP proxy to `to` that counts the bytes clients send; `kill` closes its listener and
/// every connection, as a server that died would.
struct Proxy {
    addr: String,
    sent: Arc<AtomicU64>,
    kill: oneshot::Sender<()>,
}

impl Proxy {
    async fn start(to: std::net::SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let sent = Arc::new(AtomicU64::new(0));
        let (kill, mut killed) = oneshot::channel();
        let counter = sent.clone();
        tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut killed => break,
                    Ok((client, _)) = listener.accept() => {
                        conns.spawn(forward(client, to, counter.clone()));
                    }
                }
            }
            // Dropping the set and the listener closes everything.
        });
        Self { addr, sent, kill }
    }
}

async fn forward(client: TcpStream, to: std::net::SocketAddr, sent: Arc<AtomicU64>) {
    let Ok(server) = TcpStream::connect(to).await else {
        return;
    };
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n @ 1..) = cr.read(&mut buf).await {
            sent.fetch_add(n as u64, Ordering::Relaxed);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let down = tokio::io::copy(&mut sr, &mut cw);
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// Runs `perf` through a proxy that dies once load is flowing; returns the output and the
/// proxy's address.
async fn perf_until_the_server_dies(extra: &[&str]) -> (Output, String) {
    let srv = TestServer::start_open().await.unwrap();
    let proxy = Proxy::start(srv.addr).await;
    let mut args = vec![
        "perf".to_owned(),
        "--addr".into(),
        proxy.addr.clone(),
        "-z".into(),
        "60s".into(),
        "-c".into(),
        "4".into(),
        "--max-connect-failures".into(),
        "50".into(),
        "--json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_grpckit"))
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Load is flowing once clients have sent 64 KiB (well past any setup calls).
    let until = Instant::now() + Duration::from_secs(30);
    while proxy.sent.load(Ordering::Relaxed) < 64 * 1024 {
        assert!(Instant::now() < until, "perf sent no load");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let addr = proxy.addr.clone();
    let _ = proxy.kill.send(());
    // Bounded wait: without the breaker perf would run its full 60 s.
    let until = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = child.kill();
            panic!("perf kept running against a dead server");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let out = child.wait_with_output().unwrap();
    srv.stop().await.unwrap();
    (out, addr)
}

#[tokio::test]
async fn perf_stops_when_the_server_goes_away() {
    // The default mix reconnects (tonic channels): the OS refuses each new connection.
    let (out, addr) = perf_until_the_server_dies(&[]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {err}"));
    assert!(
        line.contains(&format!("could not reach {addr}")) && line.contains("os error"),
        "{line}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["aborted"].as_str().is_some_and(|a| a.contains(&addr)));
}

#[tokio::test]
async fn perf_call_stops_when_its_connection_dies() {
    // --call runs on connections opened once: the dead connection fails every call.
    let (out, addr) = perf_until_the_server_dies(&["--call", "grpc.health.v1.Health/Check"]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: ") && l.contains(&format!("could not reach {addr}"))),
        "{err}"
    );
}

/// The README's `call` + `perf --format html` example, run as written (with this test's
/// binary, server address and a shorter run): every call succeeds, so the report measures
/// the service and carries no warning.
#[tokio::test]
async fn readme_perf_example_measures_successes() {
    let python = Command::new("python3").arg("--version").output().is_ok();
    if !grpckit_app_test::require_tool("readme_perf_example_measures_successes", python, "python3")
    {
        return;
    }
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let block = readme
        .split("```sh\n")
        .map(|b| b.split("```").next().unwrap_or_default())
        .find(|b| b.contains("--format html -o report.html"))
        .expect("README has the perf HTML example");
    let srv = TestServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = block
        .replace("grpckit ", &format!("{} ", env!("CARGO_BIN_EXE_grpckit")))
        .replace("localhost:9090", &srv.addr.to_string())
        .replace("-z 10s", "-n 200");
    assert!(script.contains("-n 200"), "{script}");
    let dir_path = dir.path().to_owned();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("sh")
            .args(["-ec", &script])
            .current_dir(dir_path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Status:      OK 200 (100.0%)"), "{stdout}");
    let html = std::fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(!html.contains(r#"class="alert""#));
    srv.stop().await.unwrap();
}
