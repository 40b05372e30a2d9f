//! Production defaults of the real binary: no `audit.log` in the working directory (the
//! audit trail goes to stderr, tagged `"stream":"audit"`), an access line for errors and slow
//! calls but not for every successful call; `success_sample: 1.0` logs every call.

use std::time::{Duration, Instant};

use grpckit_app_test::ServerProcess;
use grpckit_services::proto::user::v1::{
    CreateUserRequest, GetUserRequest, user_service_client::UserServiceClient,
};
use tonic::Code;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// A `CreateUser` that succeeds, then a `GetUser` without a token (`UNAUTHENTICATED`).
async fn one_ok_one_error(p: &ServerProcess, label: &str) {
    let mut users = UserServiceClient::connect(p.url()).await.unwrap();
    users
        .create_user(CreateUserRequest {
            name: label.into(),
            email: format!("{label}@example.com"),
            password: "password-123".into(),
        })
        .await
        .unwrap();
    let e = users
        .get_user(GetUserRequest { id: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
}

/// Stderr lines as JSON, collected until `done` holds for one of them (at most 10 s).
fn collect_until(
    p: &mut ServerProcess,
    done: impl Fn(&serde_json::Value) -> bool,
) -> Vec<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut lines = Vec::new();
    while Instant::now() < deadline {
        lines.extend(
            p.drain_logs()
                .iter()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
        );
        if lines.iter().any(&done) {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("expected line never came: {lines:#?}");
}

fn access<'a>(lines: &'a [serde_json::Value], method: &str) -> Option<&'a serde_json::Value> {
    lines
        .iter()
        .find(|v| v["message"] == "call" && v["method"] == method)
}

const CREATE: &str = "user.v1.UserService/CreateUser";
const GET: &str = "user.v1.UserService/GetUser";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn defaults_audit_to_stderr_and_log_errors_not_every_success() {
    let cwd = tempfile::tempdir().unwrap();
    let mut p = ServerProcess::spawn(BIN.as_ref(), &[], &[], cwd.path()).unwrap();
    one_ok_one_error(&p, "defaults").await;
    // Lines leave in order: once the error's line is out, the success's would be too.
    let lines = collect_until(&mut p, |v| {
        v["message"] == "call" && v["method"] == GET && v["code"] == "UNAUTHENTICATED"
    });
    assert_eq!(access(&lines, GET).unwrap()["level"], "INFO");
    assert!(
        access(&lines, CREATE).is_none(),
        "a successful call is not logged by default: {lines:#?}"
    );
    let audit: Vec<_> = lines.iter().filter(|v| v["stream"] == "audit").collect();
    assert!(
        audit
            .iter()
            .any(|v| v["method"] == CREATE && v["code"] == "OK"),
        "audit record of CreateUser on stderr: {lines:#?}"
    );
    p.terminate().unwrap();
    p.wait_exit(Duration::from_secs(15)).unwrap();
    assert!(
        !cwd.path().join("audit.log").exists(),
        "no audit.log in the working directory"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_calls_and_a_full_sample_are_logged() {
    for (yaml, slow) in [
        // Every call counts as slow.
        ("middleware:\n  log:\n    slow_threshold: 1ns\n", true),
        // Every successful call sampled, slow detection off.
        (
            "middleware:\n  log:\n    success_sample: 1.0\n    slow_threshold: 0s\n",
            false,
        ),
    ] {
        let cwd = tempfile::tempdir().unwrap();
        let cfg = cwd.path().join("grpckit.yaml");
        std::fs::write(&cfg, yaml).unwrap();
        let cfg = cfg.to_str().unwrap();
        let mut p =
            ServerProcess::spawn(BIN.as_ref(), &["--config", cfg], &[], cwd.path()).unwrap();
        one_ok_one_error(&p, if slow { "slow" } else { "sampled" }).await;
        let lines = collect_until(&mut p, |v| v["message"] == "call" && v["method"] == GET);
        let line = access(&lines, CREATE).unwrap_or_else(|| panic!("{yaml}: {lines:#?}"));
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["code"], "OK", "{line}");
        assert_eq!(
            line.get("slow").and_then(|s| s.as_bool()),
            slow.then_some(true),
            "{line}"
        );
        p.terminate().unwrap();
        p.wait_exit(Duration::from_secs(15)).unwrap();
    }
}
