//! A config file written before the reference app's keys left the framework still starts the
//! server, which says in its log where each key went.

use grpckit_app_test::{ServerProcess, roomy_rate_rules_yaml};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

#[test]
fn earlier_key_spellings_start_the_server_and_are_named_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.yaml");
    let yaml = format!(
        "server:\n  services: [user, order]\n  user_service: \"\"\n{}",
        roomy_rate_rules_yaml()
    );
    std::fs::write(&file, yaml).unwrap();
    let path = file.display().to_string();
    let mut p = ServerProcess::spawn(BIN.as_ref(), &["--config", &path], &[], dir.path()).unwrap();
    let logs = p.drain_logs().join("\n");
    for (old, new) in [
        ("server.services", "services.serve"),
        ("server.user_service", "services.user_service"),
    ] {
        let said = format!("config key {old} has moved to {new}");
        assert!(logs.contains(&said), "no '{said}' in:\n{logs}");
    }
    p.terminate().unwrap();
}

#[test]
fn a_bad_value_under_an_earlier_spelling_names_the_current_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "server:\n  services: [billing]\n").unwrap();
    let out = std::process::Command::new(BIN)
        .args(["server", "--config"])
        .arg(&file)
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("services.serve[0]"), "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
}
