use std::time::Duration;

use super::*;
use crate::config::{MethodPattern, MiddlewareConfig, PolicyConfig, PolicyOverride};

/// An encoded descriptor set of `t.proto` (service `t.S`) with `grpckit/v1/policy.proto`.
fn set(methods: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    std::fs::write(
        dir.path().join("t.proto"),
        format!(
            "syntax = \"proto3\";\npackage t;\nimport \"grpckit/v1/policy.proto\";\n\
             message M {{}}\nservice S {{\n{methods}\n}}\n"
        ),
    )
    .unwrap();
    let mut c = protox::Compiler::new([dir.path(), root.as_path()]).unwrap();
    c.include_imports(true);
    c.open_file("t.proto").unwrap();
    c.encode_file_descriptor_set()
}

const METHODS: &str = r#"
  rpc Login(M) returns (M) {
    option (grpckit.v1.policy) = {public: true, rate_limit: "2/s burst 4", audit: true};
  }
  rpc Get(M) returns (M) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (grpckit.v1.policy) = {roles: ["support", "user"], timeout: "2s"};
  }
  rpc Put(M) returns (M) {
    option idempotency_level = IDEMPOTENT;
    option (grpckit.v1.policy) = {roles: ["admin"], idempotent: false};
  }
  rpc Plain(M) returns (M) { option idempotency_level = IDEMPOTENT; }
  rpc Send(M) returns (M);
"#;

fn override_of(method: &str) -> PolicyOverride {
    PolicyOverride {
        methods: MethodPattern::exact(method),
        public: None,
        roles: None,
        rate_limit: None,
        timeout: None,
        idempotent: None,
        audit: None,
    }
}

#[test]
fn rates_parse_and_bad_ones_are_named() {
    let r: Rate = "10/s".parse().unwrap();
    assert_eq!((r.per_second(), r.burst()), (10, 10));
    let r: Rate = " 1 /s  burst 5 ".parse().unwrap();
    assert_eq!((r.per_second(), r.burst()), (1, 5));
    assert_eq!(r.to_string(), "1/s burst 5");
    for bad in [
        "",
        "10",
        "0/s",
        "10/m",
        "x/s",
        "10/s burst",
        "10/s burst 0",
        "-1/s",
    ] {
        let e = bad.parse::<Rate>().unwrap_err().to_string();
        assert!(e.contains("10/s") && e.contains(bad), "{bad}: {e}");
    }
}

#[test]
fn declared_options_are_read_with_idempotency_defaults() {
    let bytes = set(METHODS);
    let p = Policies::read(&[&bytes]).unwrap();
    let login = &p.get("/t.S/Login").unwrap();
    assert!(login.declared && login.policy.public && login.policy.audit);
    assert_eq!(login.policy.rate_limit.unwrap().burst(), 4);
    assert!(!login.policy.idempotent);
    let get = &p.get("t.S/Get").unwrap().policy;
    assert_eq!(get.roles, ["support", "user"]);
    assert_eq!(get.timeout, Some(Duration::from_secs(2)));
    assert!(get.idempotent, "from idempotency_level");
    assert!(
        !p.get("t.S/Put").unwrap().policy.idempotent,
        "declared wins"
    );
    let plain = p.get("t.S/Plain").unwrap();
    assert!(!plain.declared && plain.policy.idempotent);
    assert!(!p.get("t.S/Send").unwrap().policy.idempotent);
    assert_eq!(
        p.table().iter().map(|(m, _)| m).collect::<Vec<_>>(),
        ["t.S/Get", "t.S/Login", "t.S/Put"]
    );
}

#[test]
fn an_unusable_option_names_its_method() {
    let bytes = set(
        r#"rpc A(M) returns (M) { option (grpckit.v1.policy) = {timeout: "soon"}; }
  rpc B(M) returns (M) { option (grpckit.v1.policy) = {public: true}; }"#,
    );
    let errors = Policies::read(&[&bytes]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().contains("t.S/A"), "{}", errors[0]);
    assert!(errors[0].to_string().contains("soon"), "{}", errors[0]);
    let (p, _) = Policies::read_lenient(&[&bytes]);
    assert!(p.get("t.S/B").unwrap().policy.public);
}

#[test]
fn the_declared_option_prints_as_written() {
    let bytes = set(METHODS);
    let pool = prost_reflect::DescriptorPool::decode(bytes.as_slice()).unwrap();
    let svc = pool.get_service_by_name("t.S").unwrap();
    let text =
        |name: &str| declared_option_text(&svc.methods().find(|m| m.name() == name).unwrap());
    assert_eq!(
        text("Login").as_deref(),
        Some(
            r#"option (grpckit.v1.policy) = {public: true, rate_limit: "2/s burst 4", audit: true};"#
        )
    );
    assert_eq!(text("Plain"), None);
}

#[test]
fn policies_become_rules_after_the_configs_own() {
    let bytes = set(METHODS);
    let mut cfg = MiddlewareConfig::default();
    cfg.timeout.methods.push(crate::config::MethodTimeout {
        methods: MethodPattern::any(),
        timeout: Duration::from_secs(9),
    });
    let out = Policies::read(&[&bytes]).unwrap().apply(&cfg);
    assert!(MethodPattern::any_matches(
        &out.auth.public_methods,
        "t.S/Login"
    ));
    assert!(!MethodPattern::any_matches(
        &out.auth.public_methods,
        "t.S/Get"
    ));
    let user = out.auth.roles.iter().find(|r| r.role == "user").unwrap();
    assert!(MethodPattern::any_matches(&user.allow, "t.S/Get"));
    assert!(!MethodPattern::any_matches(&user.allow, "t.S/Put"));
    let rule = out
        .rate_limit
        .rules
        .iter()
        .find(|r| r.methods.matches("t.S/Login"))
        .unwrap();
    assert_eq!((rule.per_second, rule.burst), (2, 4));
    // The config's own `*` timeout comes first, so it wins for every method.
    assert_eq!(out.timeout.methods[0].timeout, Duration::from_secs(9));
    assert_eq!(out.timeout.methods[1].methods.as_str(), "t.S/Get");
    assert!(MethodPattern::any_matches(&out.audit.methods, "t.S/Login"));
}

#[test]
fn a_config_override_wins_field_by_field() {
    let bytes = set(METHODS);
    let mut first = override_of("t.S/Login");
    first.public = Some(false);
    first.rate_limit = Some("50/s".parse().unwrap());
    let mut shadowed = override_of("t.S/Login");
    shadowed.audit = Some(false);
    let mut get = override_of("t.S/Get");
    get.timeout = Some(Duration::from_millis(300));
    let cfg = PolicyConfig {
        methods: vec![first, shadowed, get],
    };
    let p = Policies::read(&[&bytes]).unwrap().with_overrides(&cfg);
    let login = p.get("t.S/Login").unwrap();
    assert!(!login.policy.public);
    assert_eq!(login.policy.rate_limit.unwrap().per_second(), 50);
    assert!(
        login.policy.audit,
        "only the first matching override applies"
    );
    assert_eq!(login.overridden, ["public", "rate_limit"]);
    let get = p.get("t.S/Get").unwrap();
    assert_eq!(get.policy.timeout, Some(Duration::from_millis(300)));
    assert_eq!(get.policy.roles, ["support", "user"]);
    let mw = MiddlewareConfig {
        policy: cfg,
        ..MiddlewareConfig::default()
    };
    let out = effective_config(&mw, &[&bytes]);
    assert!(!MethodPattern::any_matches(
        &out.auth.public_methods,
        "t.S/Login"
    ));
}

#[test]
fn overrides_parse_from_yaml_and_bad_rates_name_the_key() {
    let cfg = crate::config::parse_yaml(
        "middleware:\n  policy:\n    methods:\n      - { methods: \"t.S/Login\", public: false, rate_limit: 3/s, timeout: 1s }\n",
    )
    .unwrap();
    let o = &cfg.middleware.policy.methods[0];
    assert_eq!(o.public, Some(false));
    assert_eq!(o.rate_limit.unwrap().per_second(), 3);
    assert_eq!(o.timeout, Some(Duration::from_secs(1)));
    assert_eq!(o.audit, None);
    let e = crate::config::parse_yaml(
        "middleware:\n  policy:\n    methods:\n      - { methods: \"t.S/Login\", rate_limit: fast }\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("middleware.policy.methods") && e.contains("fast"),
        "{e}"
    );
}
