//! Server flag, environment and config values that used to be silently wrong: an unknown
//! log level, boolean environment spellings, and auth switched off by `middleware.enabled`.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use grpckit_app_test::ServerProcess;
use grpckit_services::proto::user::v1::{ListUsersRequest, user_service_client::UserServiceClient};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");
const AUTH_OFF: &str = "authentication is off";

/// Runs `grpckit server ARGS` expecting it to refuse to start; returns its stderr.
fn refused(args: &[&str], envs: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.arg("server")
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .args(args)
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .env_remove("GRPCKIT_LOG_LEVEL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{args:?} {envs:?} started");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn names_the_valid_levels(err: &str) {
    assert!(err.contains("'verbose'"), "{err}");
    for level in ["trace", "debug", "info", "warn", "error", "off"] {
        assert!(err.contains(level), "{level} not named: {err}");
    }
}

#[test]
fn unknown_log_level_is_refused_naming_the_valid_levels() {
    let err = refused(&["--log-level", "verbose"], &[]);
    names_the_valid_levels(&err);
    assert!(err.contains("--log-level"), "{err}");
    names_the_valid_levels(&refused(&[], &[("GRPCKIT_LOG_LEVEL", "verbose")]));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "log:\n  level: verbose\n").unwrap();
    let err = refused(&["--config", file.to_str().unwrap()], &[]);
    names_the_valid_levels(&err);
    assert!(err.contains("log.level"), "{err}");
}

fn spawn(args: &[&str], envs: &[(&str, &str)]) -> (ServerProcess, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let p = ServerProcess::spawn(BIN.as_ref(), args, envs, dir.path())
        .unwrap_or_else(|e| panic!("{args:?} {envs:?}: {e:#}"));
    (p, dir)
}

async fn list_users_code(url: String) -> tonic::Code {
    let mut c = UserServiceClient::connect(url).await.unwrap();
    match c.list_users(ListUsersRequest::default()).await {
        Ok(_) => tonic::Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test]
async fn boolean_environment_values_take_the_usual_spellings() {
    for on in ["1", "true", "YES", "On"] {
        let (mut p, _dir) = spawn(&[], &[("GRPCKIT_NO_AUTH", on)]);
        let logs = p.drain_logs().join("\n");
        assert!(logs.contains(AUTH_OFF), "GRPCKIT_NO_AUTH={on}: {logs}");
        assert_eq!(list_users_code(p.url()).await, tonic::Code::Ok, "{on}");
    }
    for off in ["0", "false", "no", "OFF"] {
        let (mut p, _dir) = spawn(&[], &[("GRPCKIT_NO_AUTH", off)]);
        let logs = p.drain_logs().join("\n");
        assert!(!logs.contains(AUTH_OFF), "GRPCKIT_NO_AUTH={off}: {logs}");
        assert_eq!(
            list_users_code(p.url()).await,
            tonic::Code::Unauthenticated,
            "{off}"
        );
    }
    // The other boolean flag with an environment variable reads the same spellings.
    let (_p, _dir) = spawn(&[], &[("GRPCKIT_PIN_CORES", "yes")]);
    let err = refused(&[], &[("GRPCKIT_NO_AUTH", "maybe")]);
    assert!(err.contains("maybe"), "{err}");
}

#[tokio::test]
async fn middleware_disabled_warns_that_authentication_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "middleware:\n  enabled: false\n").unwrap();
    let (mut p, _d) = spawn(&["--config", file.to_str().unwrap()], &[]);
    let logs = p.drain_logs().join("\n");
    let line = logs
        .lines()
        .find(|l| l.contains(AUTH_OFF))
        .unwrap_or_else(|| panic!("no warning: {logs}"));
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("middleware.enabled"), "{line}");
    assert_eq!(list_users_code(p.url()).await, tonic::Code::Ok);
}
