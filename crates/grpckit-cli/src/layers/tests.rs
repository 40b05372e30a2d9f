use clap::{Args, Command};
use grpckit::config::has_key;
use serde_norway::Value;

use super::*;

fn args_of(argv: &[&str]) -> ServerArgs {
    let cmd = ServerArgs::augment_args(Command::new("server").no_binary_name(true));
    let m = cmd.try_get_matches_from(argv).expect("flags parse");
    <ServerArgs as clap::FromArgMatches>::from_arg_matches(&m).expect("args")
}

/// Every leaf key path of a YAML value (mappings; a sequence or an empty mapping is a leaf).
fn leaves(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Mapping(m) if !m.is_empty() => {
            for (k, v) in m {
                let k = k.as_str().expect("string keys");
                let path = if prefix.is_empty() {
                    k.to_owned()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path, out);
            }
        }
        _ => out.push((prefix.to_owned(), v.clone())),
    }
}

#[test]
fn the_flag_table_is_the_clap_definition() {
    let cmd = ServerArgs::augment_args(Command::new("server"));
    let mut ids = Vec::new();
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "config" {
            continue;
        }
        ids.push(id.to_owned());
        let flag = FLAGS
            .iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("--{id} is missing from layers::FLAGS"));
        assert_eq!(
            Some(flag.long.trim_start_matches("--")),
            arg.get_long(),
            "{id}"
        );
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some(flag.env),
            "{id}"
        );
        // A flat alias is never read as a nested key.
        assert!(!ENV.is_key_var(flag.env), "{}", flag.env);
    }
    let table: Vec<&str> = FLAGS.iter().map(|f| f.id).collect();
    assert_eq!(ids, table, "same flags, same order");
}

#[test]
fn each_flag_sets_only_its_keys() {
    let defaults = serde_norway::to_value(AppConfig::default()).unwrap();
    let mut default_leaves = Vec::new();
    leaves(&defaults, "", &mut default_leaves);
    let samples: &[&[&str]] = &[
        &["--listen", "127.0.0.1:1234"],
        &["--metrics-listen", "127.0.0.1:1235"],
        &["--database-url", "sqlite://x.db"],
        &["--services", "user", "--jwt-secret", "s"],
        &["--user-service", "http://127.0.0.1:1"],
        &["--jwt-secret", "s"],
        &["--admin-email", "a@example.com"],
        &["--admin-password", "p"],
        &["--log-level", "debug"],
        &["--log-format", "pretty"],
        &["--logistics-interval", "7s"],
        &["--shutdown-grace", "7s"],
        &["--drain-delay", "7s"],
        &["--runtime", "current_thread"],
        &["--workers", "3"],
        &["--cores", "3"],
        &["--pin-cores"],
        &["--no-auth"],
        &["--tls-cert", "c.pem", "--tls-key", "k.pem"],
        &[
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--tls-client-ca",
            "ca.pem",
        ],
    ];
    for argv in samples {
        let args = args_of(argv);
        let cfg = load(&args, Vec::<(String, String)>::new())
            .unwrap_or_else(|e| panic!("{argv:?}: {e:#}"))
            .config;
        let value = serde_norway::to_value(&cfg).unwrap();
        let mut got = Vec::new();
        leaves(&value, "", &mut got);
        let changed: Vec<&str> = got
            .iter()
            .zip(&default_leaves)
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a.0.as_str())
            .collect();
        assert!(!changed.is_empty(), "{argv:?} changed nothing");
        for key in changed {
            assert!(
                flag_of(&args, key).is_some(),
                "{argv:?} changed {key}, which layers::FLAGS does not list"
            );
        }
    }
}

#[test]
fn nested_variables_sit_between_the_file_and_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "log:\n  level: warn\nserver:\n  port: 1000\n").unwrap();
    let env = [
        ("GRPCKIT_LOG__LEVEL", "debug"),
        ("GRPCKIT_SERVER__PORT", "2000"),
        ("GRPCKIT_GIT_REV", "abc"),
        ("GRPCKIT_FOO", "bar"),
    ];
    let file_only = ServerArgs {
        config: Some(file.clone()),
        ..ServerArgs::default()
    };
    let l = load(&file_only, env).unwrap();
    assert_eq!(l.config.log.level, "debug", "nested env over the file");
    assert_eq!(l.config.server.port, 2000);
    assert_eq!(l.env.vars().len(), 2);
    // A flag (or its flat variable, which clap puts in the same field) wins.
    let flags = ServerArgs {
        log_level: Some("error".into()),
        listen: Some("127.0.0.1:3000".into()),
        ..file_only.clone()
    };
    let l = load(&flags, env).unwrap();
    assert_eq!(l.config.log.level, "error");
    assert_eq!(l.config.server.port, 3000);
}

#[test]
fn errors_name_the_variable_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.yaml");
    std::fs::write(&file, "log:\n  level: warn\n").unwrap();
    let args = ServerArgs {
        config: Some(file.clone()),
        ..ServerArgs::default()
    };
    for (name, value) in [
        ("GRPCKIT_SERVER__PORT", "x"),
        ("GRPCKIT_SERVER__PROT", "1"),
        ("GRPCKIT_SERVER__MAX_RECV_SIZE", "0"),
        ("GRPCKIT_LOG__LEVEL", "loud"),
    ] {
        let e = format!("{:#}", load(&args, [(name, value)]).unwrap_err());
        assert!(e.starts_with(&format!("{name}: ")), "{e}");
    }
    // The file's own errors keep the file and line.
    std::fs::write(&file, "log:\n  level: warn\nserver:\n  port: x\n").unwrap();
    let e = format!(
        "{:#}",
        load(&args, [("GRPCKIT_LOG__LEVEL", "debug")]).unwrap_err()
    );
    assert!(e.starts_with(&file.display().to_string()), "{e}");
    assert!(e.contains("line 4"), "{e}");
}

#[test]
fn every_default_key_round_trips_through_its_variable() {
    let defaults = serde_norway::to_value(AppConfig::default()).unwrap();
    let mut all = Vec::new();
    leaves(&defaults, "", &mut all);
    let vars: Vec<(String, String)> = all
        .iter()
        .map(|(key, value)| {
            let text = serde_norway::to_string(value).unwrap();
            (ENV.var_name(key), text.trim_end().to_owned())
        })
        .collect();
    assert!(vars.len() > 100, "{}", vars.len());
    assert!(vars.iter().any(|(n, _)| n == "GRPCKIT_SERVER__PORT"));
    let l = load(&ServerArgs::default(), vars.clone()).unwrap();
    assert_eq!(l.env.vars().len(), vars.len());
    assert_eq!(l.config, AppConfig::default());
    for (key, _) in &all {
        assert!(has_key(&defaults, key));
        assert_eq!(
            l.env.source_of(key).map(|v| v.name.clone()),
            Some(ENV.var_name(key))
        );
    }
}
