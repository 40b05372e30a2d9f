//! The config layers in the real `grpckit` binary: defaults < file < nested environment
//! variables (`GRPCKIT_SERVER__PORT`) < flags and their flat variables (`GRPCKIT_LISTEN`).
//! A nested variable overrides the file (seen at the admin port's `GET /config`), a flag or
//! flat variable wins over it, a bad value or unknown key stops the server naming the
//! variable, unrelated `GRPCKIT_*` variables are ignored, and `grpckit config print` shows
//! each value's source with secrets hidden (README's example, run as written).

use std::{
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use grpckit_app_test::{ServerProcess, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// A `grpckit` command in `dir` without the caller's config and database variables.
fn grpckit(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(dir)
        .env_remove("GRPCKIT_CONFIG")
        .env_remove("GRPCKIT_DATABASE_URL")
        .env_remove("GRPCKIT_LOG_LEVEL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd`, killed after 60 s; `(exit code, stdout, stderr)`.
fn run(mut cmd: Command) -> (i32, String, String) {
    let mut child = cmd.spawn().expect("run grpckit");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `grpckit server` on loopback ports with `envs`; it must fail: `(code, stderr)`.
fn server_fails(envs: &[(&str, &str)]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = grpckit(
        dir.path(),
        &[
            "server",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    cmd.envs(envs.iter().copied());
    let (code, _, err) = run(cmd);
    (code, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_variables_override_the_file_and_flags_override_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(
        &file,
        "log:\n  level: info\nevents:\n  buffer: 64\nlogistics:\n  interval: 5s\nserver:\n  shutdown_grace: 2s\n",
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("grpckit.db").display());
    let file_arg = file.display().to_string();
    let p = ServerProcess::spawn(
        BIN.as_ref(),
        &["--config", &file_arg],
        &[
            ("GRPCKIT_DATABASE_URL", db.as_str()),
            ("GRPCKIT_LOG__LEVEL", "debug"),
            ("GRPCKIT_EVENTS__BUFFER", "77"),
            // The flat variable (an alias of --logistics-interval) wins over the nested one.
            ("GRPCKIT_LOGISTICS__INTERVAL", "9s"),
            ("GRPCKIT_LOGISTICS_INTERVAL", "3s"),
            // The --listen flag (127.0.0.1:0) wins over the nested port.
            ("GRPCKIT_SERVER__PORT", "1"),
            // Not keys: ignored.
            ("GRPCKIT_GIT_REV", "abc"),
            ("GRPCKIT_FOO", "bar"),
        ],
        dir.path(),
    )
    .unwrap();
    let text = http_get(p.admin_addr, "/config").await.unwrap();
    let view: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cfg = &view["config"];
    assert_eq!(cfg["log"]["level"], "debug", "{text}");
    assert_eq!(cfg["events"]["buffer"], 77, "{text}");
    assert_eq!(cfg["logistics"]["interval"], "3s", "{text}");
    assert_eq!(cfg["server"]["port"], 0, "{text}");
    assert_ne!(p.addr.port(), 1);
    assert_eq!(
        cfg["server"]["shutdown_grace"], "2s",
        "the file's own keys stay"
    );
}

#[test]
fn a_bad_nested_value_stops_the_server_naming_the_variable() {
    let (code, err) = server_fails(&[("GRPCKIT_SERVER__MAX_RECV_SIZE", "lots")]);
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("GRPCKIT_SERVER__MAX_RECV_SIZE: server.max_recv_size"),
        "{err}"
    );
    let (code, err) = server_fails(&[("GRPCKIT_SERVER__KEEP_ALIVE__TIME", "soon")]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("GRPCKIT_SERVER__KEEP_ALIVE__TIME"), "{err}");
    assert!(err.contains("expected a duration"), "{err}");
}

#[test]
fn an_unknown_nested_key_stops_the_server_naming_the_variable() {
    let (code, err) = server_fails(&[("GRPCKIT_SERVER__PROT", "9090")]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("GRPCKIT_SERVER__PROT"), "{err}");
    assert!(err.contains("unknown field `prot`"), "{err}");
    let (code, err) = server_fails(&[("GRPCKIT_BILLING__ENABLED", "true")]);
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("GRPCKIT_BILLING__ENABLED"), "{err}");
}

#[test]
fn config_print_names_every_source_and_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grpckit.yaml"),
        "log:\n  level: warn\nauth:\n  jwt_secret: file-jwt-secret-0123456789\n  admin_password: file-admin-password\n",
    )
    .unwrap();
    let mut cmd = grpckit(dir.path(), &["config", "print", "--shutdown-grace", "20s"]);
    cmd.env("GRPCKIT_CONFIG", "grpckit.yaml")
        .env("GRPCKIT_EVENTS__BUFFER", "77")
        .env("GRPCKIT_AUTH__ADMIN_EMAIL", "root@example.com")
        .env(
            "GRPCKIT_DATABASE__URL",
            "postgres://u:db-password@127.0.0.1/db",
        )
        .env("GRPCKIT_LOG_FORMAT", "pretty")
        .env("GRPCKIT_LOG__FORMAT", "json")
        .env("GRPCKIT_GIT_REV", "abc")
        .env("GRPCKIT_FOO", "bar");
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    for line in [
        "  shutdown_grace: 20s  # flag --shutdown-grace",
        "  level: warn  # file grpckit.yaml:2",
        "  format: pretty  # env GRPCKIT_LOG_FORMAT (flag alias)",
        "  buffer: 77  # env GRPCKIT_EVENTS__BUFFER",
        "  admin_email: root@example.com  # env GRPCKIT_AUTH__ADMIN_EMAIL",
        "  jwt_secret: <redacted>  # file grpckit.yaml:4",
        "  admin_password: <redacted>  # file grpckit.yaml:5",
        "  url: postgres://u:<redacted>@127.0.0.1/db  # env GRPCKIT_DATABASE__URL",
        "  port: 9090  # default",
    ] {
        assert!(
            out.contains(&format!("\n{line}\n")),
            "no '{line}' in:\n{out}"
        );
    }
    for secret in ["file-jwt-secret", "file-admin-password", "db-password"] {
        assert!(!out.contains(secret), "{secret} shown:\n{out}");
    }
    // A config the server would refuse is refused, naming the variable.
    let mut cmd = grpckit(dir.path(), &["config", "print"]);
    cmd.env("GRPCKIT_SERVER__PORT", "x");
    let (code, _, err) = run(cmd);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("GRPCKIT_SERVER__PORT: server.port"), "{err}");
}

#[test]
fn config_print_shows_the_effective_method_policy_with_overrides() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grpckit.yaml"),
        "middleware:\n  policy:\n    methods:\n      - { methods: \"user.v1.UserService/Login\", rate_limit: \"20/s burst 50\" }\n",
    )
    .unwrap();
    let cmd = grpckit(dir.path(), &["config", "print", "--config", "grpckit.yaml"]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    let at = out.find("# effective_policy:").expect("the policy section");
    let login = out[at..]
        .split("#   user.v1.UserService/Login:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("Login's policy in:\n{out}"));
    let login: String = login
        .lines()
        .take_while(|l| l.starts_with("#     "))
        .collect::<Vec<_>>()
        .join("\n");
    for line in [
        "#     public: true",
        "#     rate_limit: 20/s burst 50",
        "#     - rate_limit",
    ] {
        assert!(
            login.contains(line),
            "no '{line}' in Login's policy:\n{login}"
        );
    }
}

/// The fenced block of `lang` right after the line containing `marker` in README.md.
fn readme_block(readme: &str, marker: &str, lang: &str) -> String {
    let at = readme
        .find(marker)
        .unwrap_or_else(|| panic!("README: no '{marker}'"));
    let fence = format!("```{lang}\n");
    let start = readme[at..].find(&fence).expect("block") + at + fence.len();
    let end = readme[start..].find("\n```").expect("block end") + start;
    readme[start..=end].to_owned()
}

#[test]
fn the_readme_config_print_example_prints_what_it_shows() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("read README.md");
    let script = readme_block(&readme, "### `config print`", "sh");
    let shown = readme_block(&readme, "### `config print`", "text");
    assert!(script.contains("grpckit config print"), "{script}");
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!(
            "set -euo pipefail\ngrpckit() {{ '{BIN}' \"$@\"; }}\n{script}"
        ))
        .current_dir(dir.path())
        .env_remove("GRPCKIT_CONFIG")
        .env_remove("GRPCKIT_DATABASE_URL")
        .env_remove("GRPCKIT_LOG_LEVEL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    // Each shown line, whole, in the shown order (so under its section).
    let printed = format!("\n{out}");
    let mut rest = printed.as_str();
    for line in shown.lines() {
        let found = rest
            .find(&format!("\n{line}\n"))
            .unwrap_or_else(|| panic!("README shows '{line}', `config print` printed:\n{out}"));
        rest = &rest[found + 1 + line.len()..];
    }
}
