//! `grpckit config check FILE`: exit 0 and `FILE: ok` for a good file (earlier key spellings
//! reported), exit 1 with the key, the line and column and what was expected otherwise.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_grpckit");

/// `(exit code, stdout, stderr)` of `grpckit config check` on a file holding `yaml`.
fn check(yaml: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(&file, yaml).expect("write");
    let out = Command::new(BIN)
        .args(["config", "check"])
        .arg(&file)
        .output()
        .expect("run grpckit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn good_files_pass_and_earlier_spellings_are_named() {
    let (code, out, _) = check("server:\n  port: 9090\n  http2: { max_frame_size: 32768 }\n");
    assert_eq!(code, 0);
    assert!(out.trim_end().ends_with("grpckit.yaml: ok"), "{out}");
    let (code, out, _) = check("middleware:\n  audit:\n    extra_methods: []\n");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "middleware.audit.extra_methods is the earlier spelling of middleware.audit.methods"
        ),
        "{out}"
    );
}

#[test]
fn bad_files_name_the_key_the_place_and_what_was_expected() {
    let (code, _, err) = check("server:\n  port: 9090\n  keep_alive:\n    time: soon\n");
    assert_eq!(code, 1);
    assert!(err.contains("server.keep_alive.time"), "{err}");
    assert!(err.contains("expected a duration"), "{err}");
    assert!(err.contains("line 4 column 11"), "{err}");

    let (code, _, err) = check("server:\n  prot: 9090\n");
    assert_eq!(code, 1);
    assert!(err.contains("unknown field `prot`"), "{err}");
    assert!(err.contains("line 2 column 3"), "{err}");

    let (code, _, err) = check("server:\n  http2: { max_frame_size: 10 }\n");
    assert_eq!(code, 1);
    assert!(
        err.contains("server.http2.max_frame_size: must be in 16384..=16777215"),
        "{err}"
    );

    let (code, _, err) = check("server: [\n");
    assert_eq!(code, 1);
    assert!(err.contains("line 2 column 1"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let out = Command::new(BIN)
        .args(["config", "check", "/nonexistent/grpckit.yaml"])
        .output()
        .expect("run grpckit");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read config file /nonexistent/grpckit.yaml"),
        "{err}"
    );
}
