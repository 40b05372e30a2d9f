use std::time::Duration;

use super::*;
use crate::config::{Config, from_yaml_value, yaml_value};

const LAYER: EnvLayer = EnvLayer::new("GRPCKIT_");

/// `file` with the variables `vars` on top, deserialized as the framework's [`Config`].
fn load(file: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env = LAYER.read(vars.iter().copied())?;
    let mut doc = yaml_value(file)?;
    env.apply(&mut doc)?;
    from_yaml_value(doc).map_err(|e| env.attribute(e))
}

#[test]
fn names_map_to_nested_lowercase_keys() {
    let env = LAYER
        .read([
            ("GRPCKIT_SERVER__PORT", "9090"),
            ("GRPCKIT_MIDDLEWARE__RATE_LIMIT__ENABLED", "false"),
        ])
        .unwrap();
    let keys: Vec<&str> = env.vars().iter().map(|v| v.key.as_str()).collect();
    assert_eq!(keys, ["middleware.rate_limit.enabled", "server.port"]);
    assert_eq!(
        LAYER.var_name("server.keep_alive.time"),
        "GRPCKIT_SERVER__KEEP_ALIVE__TIME"
    );
}

#[test]
fn values_are_yaml_and_merge_over_the_file() {
    let cfg = load(
        "server:\n  port: 1\n  address: 127.0.0.1\n  keep_alive:\n    time: 10s\n",
        &[
            ("GRPCKIT_SERVER__PORT", "9091"),
            ("GRPCKIT_SERVER__KEEP_ALIVE", "{timeout: 2s}"),
            (
                "GRPCKIT_SERVER__PROXY_PROTOCOL__TRUSTED_PROXIES",
                "[10.0.0.0/8, 127.0.0.1]",
            ),
            ("GRPCKIT_LOG__LEVEL", "debug"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.server.port, 9091);
    assert_eq!(
        cfg.server.address, "127.0.0.1",
        "keys the env leaves alone stay"
    );
    assert_eq!(
        cfg.server.keep_alive.time,
        Duration::from_secs(10),
        "a mapping merges"
    );
    assert_eq!(cfg.server.keep_alive.timeout, Duration::from_secs(2));
    assert_eq!(cfg.server.proxy_protocol.trusted_proxies.len(), 2);
    assert_eq!(cfg.log.level, "debug");
    // Without a file.
    let cfg = load("", &[("GRPCKIT_SERVER__ENABLE_TLS", "false")]).unwrap();
    assert_eq!(cfg.server, crate::config::ServerConfig::default());
}

#[test]
fn a_deeper_variable_wins_over_its_parents_mapping() {
    let cfg = load(
        "",
        &[
            ("GRPCKIT_SERVER__KEEP_ALIVE", "{time: 1s, timeout: 1s}"),
            ("GRPCKIT_SERVER__KEEP_ALIVE__TIME", "3s"),
        ],
    )
    .unwrap();
    assert_eq!(cfg.server.keep_alive.time, Duration::from_secs(3));
    assert_eq!(cfg.server.keep_alive.timeout, Duration::from_secs(1));
}

#[test]
fn type_errors_name_the_variable_and_the_key() {
    let e = load("", &[("GRPCKIT_SERVER__PORT", "not-a-port")]).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("GRPCKIT_SERVER__PORT: server.port: "),
        "{text}"
    );
    assert!(text.contains("u16"), "{text}");
    assert_eq!(e.key(), Some("server.port"));
    let e = load("", &[("GRPCKIT_SERVER__KEEP_ALIVE__TIME", "soon")]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("GRPCKIT_SERVER__KEEP_ALIVE__TIME: "),
        "{e}"
    );
    // An error in the file is not the variable's.
    let e = load("server:\n  port: x\n", &[("GRPCKIT_LOG__LEVEL", "debug")]).unwrap_err();
    assert!(!matches!(e, ConfigError::Env { .. }), "{e}");
}

#[test]
fn unknown_keys_name_the_variable() {
    let e = load("", &[("GRPCKIT_SERVER__PROT", "1")]).unwrap_err();
    assert!(e.to_string().starts_with("GRPCKIT_SERVER__PROT: "), "{e}");
    assert!(e.to_string().contains("prot"), "{e}");
    let e = load("", &[("GRPCKIT_NOPE__X", "1")]).unwrap_err();
    assert!(e.to_string().starts_with("GRPCKIT_NOPE__X: "), "{e}");
    // Through a value that is not a mapping.
    let e = load("", &[("GRPCKIT_SERVER__PORT__X", "1")]).unwrap_err();
    assert!(
        e.to_string().starts_with("GRPCKIT_SERVER__PORT__X: "),
        "{e}"
    );
    let e = load(
        "",
        &[
            ("GRPCKIT_SERVER__PORT", "1"),
            ("GRPCKIT_SERVER__PORT__X", "1"),
        ],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("GRPCKIT_SERVER__PORT__X: server.port: "),
        "{e}"
    );
}

#[test]
fn malformed_names_and_values_name_the_variable() {
    for (name, value) in [
        ("GRPCKIT_SERVER__", "1"),
        ("GRPCKIT___PORT", "1"),
        ("GRPCKIT_SERVER____PORT", "1"),
        ("GRPCKIT_SERVER__PORT", "[1"),
    ] {
        let e = LAYER.read([(name, value)]).unwrap_err();
        assert!(e.to_string().starts_with(&format!("{name}: ")), "{e}");
    }
}

#[test]
fn flat_and_unrelated_variables_are_never_keys() {
    let env = LAYER
        .read([
            ("GRPCKIT_LISTEN", "127.0.0.1:1"),
            ("GRPCKIT_GIT_REV", "abc"),
            ("GRPCKIT_FOO", "bar"),
            ("GRPCKIT_NO_AUTH", "1"),
            ("HOME", "/root"),
            ("OTHER__KEY", "1"),
            ("grpckit_server__port", "1"),
        ])
        .unwrap();
    assert!(env.is_empty(), "{env:?}");
    let excluded = EnvLayer::new("GRPCKIT_").excluding(&["GRPCKIT_TEST__ONLY"]);
    assert!(
        excluded
            .read([("GRPCKIT_TEST__ONLY", "x")])
            .unwrap()
            .is_empty()
    );
    assert!(
        !excluded
            .read([("GRPCKIT_TEST__OTHER", "x")])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_empty_value_is_an_empty_string() {
    let env = LAYER.read([("GRPCKIT_LOG__LEVEL", "")]).unwrap();
    assert_eq!(env.vars()[0].value, Value::String(String::new()));
}

#[test]
fn sources_are_the_deepest_variable_that_reaches_the_key() {
    let env = LAYER
        .read([
            ("GRPCKIT_SERVER__KEEP_ALIVE", "{time: 1s}"),
            ("GRPCKIT_SERVER__PORT", "1"),
            (
                "GRPCKIT_SERVER__PROXY_PROTOCOL__TRUSTED_PROXIES",
                "[127.0.0.1]",
            ),
        ])
        .unwrap();
    let name = |key: &str| env.source_of(key).map(|v| v.name.as_str());
    assert_eq!(name("server.port"), Some("GRPCKIT_SERVER__PORT"));
    assert_eq!(
        name("server.keep_alive.time"),
        Some("GRPCKIT_SERVER__KEEP_ALIVE")
    );
    assert_eq!(
        name("server.keep_alive.timeout"),
        None,
        "the mapping does not name it"
    );
    assert_eq!(name("server.portx"), None);
    assert_eq!(name("server.address"), None);
    assert_eq!(
        name("server.proxy_protocol.trusted_proxies"),
        Some("GRPCKIT_SERVER__PROXY_PROTOCOL__TRUSTED_PROXIES")
    );
}

#[cfg(unix)]
#[test]
fn os_strings_are_read_and_a_non_utf8_value_is_refused() {
    use std::{ffi::OsString, os::unix::ffi::OsStringExt};
    let bad = OsString::from_vec(vec![0xff, 0xfe]);
    let env = LAYER
        .read([(OsString::from("GRPCKIT_LOG__LEVEL"), OsString::from("warn"))])
        .unwrap();
    assert_eq!(env.vars().len(), 1);
    // A name that is not UTF-8 is nobody's key; a key's value must be.
    assert!(
        LAYER
            .read([(bad.clone(), OsString::from("1"))])
            .unwrap()
            .is_empty()
    );
    let e = LAYER
        .read([(OsString::from("GRPCKIT_LOG__LEVEL"), bad)])
        .unwrap_err();
    assert!(e.to_string().starts_with("GRPCKIT_LOG__LEVEL: "), "{e}");
}
