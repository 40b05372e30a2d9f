//! Every runtime mode starts, serves all four call kinds, reports health, and shuts down
//! gracefully; `auto` picks `current_thread` on one CPU.

use std::{process::Command, time::Duration};

use grpckit_app_test::ServerProcess;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

fn chosen_runtime(p: &mut ServerProcess) -> String {
    let line = p
        .drain_logs()
        .into_iter()
        .find(|l| l.contains("runtime chosen"))
        .expect("runtime is logged at start");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    v["runtime"].as_str().unwrap().to_owned()
}

async fn exercise(mode: &str, extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--runtime", mode, "--logistics-interval", "100ms"];
    args.extend_from_slice(extra);
    let mut p = ServerProcess::spawn(BIN.as_ref(), &args, &[], dir.path()).unwrap();
    assert_eq!(chosen_runtime(&mut p), mode);
    if mode == "thread_per_core" {
        let threads = || -> Vec<String> {
            std::fs::read_dir(format!("/proc/{}/task", p.pid()))
                .unwrap()
                .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
                .map(|s| s.trim().to_owned())
                .collect()
        };
        let mut names = threads();
        for _ in 0..100 {
            if ["grpckit-core-0", "grpckit-core-1"]
                .iter()
                .all(|w| names.iter().any(|n| n == w))
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            names = threads();
        }
        for want in ["grpckit-core-0", "grpckit-core-1"] {
            assert!(
                names.iter().any(|n| n == want),
                "{want} missing from {names:?}"
            );
        }
    }
    let addr = p.addr.to_string();
    for cmd in ["client", "stream"] {
        let a = addr.clone();
        let out = tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args([cmd, "--addr", &a])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{mode} {cmd}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let mut health = HealthClient::new(
        tonic::transport::Channel::from_shared(p.url())
            .unwrap()
            .connect()
            .await
            .unwrap(),
    );
    let st = health
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(st, ServingStatus::Serving as i32);
    let admin = p.admin_addr;
    let body = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(admin).unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    p.terminate().unwrap();
    assert_eq!(
        p.wait_exit(Duration::from_secs(20)).unwrap(),
        Some(0),
        "{mode} exits 0 after SIGTERM"
    );
}

#[tokio::test]
async fn multi_thread_mode() {
    exercise("multi_thread", &["--workers", "2"]).await;
}

#[tokio::test]
async fn current_thread_mode() {
    exercise("current_thread", &[]).await;
}

#[tokio::test]
async fn thread_per_core_mode() {
    exercise("thread_per_core", &["--cores", "2"]).await;
}

#[tokio::test]
async fn auto_picks_current_thread_on_one_cpu() {
    let has_taskset = Command::new("taskset")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !grpckit_app_test::require_tool(
        "auto_picks_current_thread_on_one_cpu",
        has_taskset,
        "taskset (util-linux)",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut p = ServerProcess::spawn_wrapped(
        &["taskset", "-c", "0"],
        BIN.as_ref(),
        &["--runtime", "auto"],
        &[],
        dir.path(),
    )
    .unwrap();
    assert_eq!(chosen_runtime(&mut p), "current_thread");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus > 1 {
        let dir = tempfile::tempdir().unwrap();
        let mut p =
            ServerProcess::spawn(BIN.as_ref(), &["--runtime", "auto"], &[], dir.path()).unwrap();
        assert_eq!(chosen_runtime(&mut p), "multi_thread");
    }
}
