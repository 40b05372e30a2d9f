use grpckit::config::{MethodPattern, PrincipalSelector};

use super::*;

const LOGIN: &str = "user.v1.UserService/Login";

#[test]
fn defaults_are_the_apps() {
    let cfg = AppConfig::from_yaml("").unwrap();
    assert_eq!(cfg, AppConfig::default());
    let m = &cfg.middleware;
    // `Login` is public through its .proto policy, not through the config.
    assert!(!MethodPattern::any_matches(&m.auth.public_methods, LOGIN));
    assert!(cfg.effective_policy().get(LOGIN).unwrap().policy.public);
    let effective = grpckit::policy::effective_config(m, &[crate::proto::FILE_DESCRIPTOR_SET]);
    assert!(MethodPattern::any_matches(
        &effective.auth.public_methods,
        LOGIN
    ));
    let support = effective
        .auth
        .roles
        .iter()
        .find(|r| r.role == "support")
        .unwrap();
    assert!(MethodPattern::any_matches(
        &support.allow,
        "order.v1.OrderService/Chat"
    ));
    assert!(!MethodPattern::any_matches(
        &support.allow,
        "order.v1.OrderService/PayOrder"
    ));
    assert!(m.auth.roles.iter().any(|r| r.role == "support"));
    assert!(MethodPattern::any_matches(
        &m.audit.methods,
        "order.v1.OrderService/PayOrder"
    ));
    assert!(!MethodPattern::any_matches(
        &m.audit.methods,
        "order.v1.OrderService/GetOrder"
    ));
    assert_eq!(m.audit.target_fields, ["id", "order_id", "user_id"]);
    // The framework's own defaults know no app.
    let fw = MiddlewareConfig::default();
    assert!(!MethodPattern::any_matches(&fw.auth.public_methods, LOGIN));
    assert!(MethodPattern::any_matches(
        &fw.auth.public_methods,
        "grpc.health.v1.Health/Check"
    ));
    assert!(fw.audit.methods.is_empty() && fw.audit.target_fields.is_empty());
}

#[test]
fn app_defaults_fill_only_keys_left_out() {
    let cfg = AppConfig::from_yaml(
        "middleware:\n  log: { level: debug }\n  auth:\n    public_methods: [\"*/Login\"]\n",
    )
    .unwrap();
    let m = &cfg.middleware;
    assert_eq!(
        m.auth.public_methods,
        [MethodPattern::parse("*/Login").unwrap()]
    );
    assert_eq!(m.auth.roles, defaults::roles());
    assert_eq!(m.audit.methods, defaults::audited_methods());
    let none = AppConfig::from_yaml("middleware:\n  audit:\n    methods: []\n").unwrap();
    assert!(none.middleware.audit.methods.is_empty());
}

#[test]
fn moved_keys_keep_working_and_are_reported() {
    let old = AppConfig::from_yaml(
        "server:\n  port: 7000\n  services: [order]\n  user_service: http://u:9090\nauth:\n  jwt_secret: s\n",
    )
    .unwrap();
    assert_eq!(old.services.serve, [ServiceName::Order]);
    assert_eq!(old.services.user_service, "http://u:9090");
    assert_eq!(old.server.port, 7000);
    assert_eq!(old.moved_keys(), &MOVED_KEYS[..2]);
    let new = AppConfig::from_yaml(
        "server:\n  port: 7000\nservices:\n  serve: [order]\n  user_service: http://u:9090\nauth:\n  jwt_secret: s\n",
    )
    .unwrap();
    assert!(new.moved_keys().is_empty());
    assert_eq!(old.services, new.services);
    let both = AppConfig::from_yaml("server:\n  services: [user]\nservices:\n  serve: [user]\n")
        .unwrap_err();
    assert!(matches!(both, ConfigError::Conflict { .. }), "{both}");
}

#[test]
fn extra_methods_add_to_the_apps_audited_methods() {
    let cfg =
        AppConfig::from_yaml("middleware:\n  audit:\n    extra_methods: [\"*/Get*\"]\n").unwrap();
    let methods = &cfg.middleware.audit.methods;
    assert!(MethodPattern::any_matches(
        methods,
        "order.v1.OrderService/PayOrder"
    ));
    assert!(MethodPattern::any_matches(
        methods,
        "order.v1.OrderService/GetOrder"
    ));
    assert_eq!(cfg.moved_keys(), [AUDIT_EXTRA]);
}

#[test]
fn errors_name_the_key_with_and_without_moved_keys() {
    let e = AppConfig::from_yaml("database:\n  url: mysql://x\n").unwrap_err();
    assert_eq!(e.key(), Some("database.url"));
    let e = AppConfig::from_yaml("server:\n  port: 1\nlogistics:\n  interval: soon\n").unwrap_err();
    assert_eq!(e.key(), Some("logistics.interval"));
    assert_eq!(e.location().map(|l| l.line), Some(4), "{e}");
    let e = AppConfig::from_yaml("server:\n  services: [billing]\n").unwrap_err();
    assert_eq!(e.key(), Some("services.serve[0]"), "{e}");
    let e = AppConfig::from_yaml("services:\n  serve: []\n").unwrap_err();
    assert_eq!(e.key(), Some("services.serve"), "{e}");
    let e = AppConfig::from_yaml("services:\n  serve: [order]\n").unwrap_err();
    assert_eq!(e.key(), Some("services.user_service"), "{e}");
}

#[test]
fn bindings_parse_and_name_unknown_roles() {
    let cfg = AppConfig::from_yaml(
        "middleware:\n  auth:\n    bindings:\n      - { principal: \"user:42\", roles: [support] }\n",
    )
    .unwrap();
    let b = &cfg.middleware.auth.bindings[0];
    assert_eq!(b.principal, PrincipalSelector::User("42".into()));
    let e = AppConfig::from_yaml(
        "middleware:\n  auth:\n    bindings:\n      - { principal: \"user:42\", roles: [suport] }\n",
    )
    .unwrap_err();
    assert_eq!(e.key(), Some("middleware.auth.bindings[0].roles[0]"), "{e}");
    let e = AppConfig::from_yaml(
        "middleware:\n  auth:\n    bindings:\n      - { principal: \"group:ops\", roles: [support] }\n",
    )
    .unwrap_err();
    assert_eq!(
        e.key(),
        Some("middleware.auth.bindings[0].principal"),
        "{e}"
    );
}

#[test]
fn invalid_method_patterns_are_refused_at_load_with_the_key() {
    for (yaml, key) in [
        (
            "middleware:\n  rate_limit:\n    rules:\n      - { methods: \"a/b/c\", per_second: 1 }\n",
            "middleware.rate_limit.rules[0].methods",
        ),
        (
            "middleware:\n  timeout:\n    methods:\n      - { methods: \"Login\", timeout: 1s }\n",
            "middleware.timeout.methods[0].methods",
        ),
        (
            "middleware:\n  audit:\n    methods: [\"x y/z\"]\n",
            "middleware.audit.methods[0]",
        ),
        (
            "middleware:\n  log:\n    quiet_methods: [\"\"]\n",
            "middleware.log.quiet_methods[0]",
        ),
    ] {
        let e = AppConfig::from_yaml(yaml).unwrap_err();
        assert_eq!(e.key(), Some(key), "{yaml}: {e}");
        assert!(e.to_string().contains("invalid method pattern"), "{e}");
    }
}

#[test]
fn a_file_of_comments_is_the_defaults() {
    assert_eq!(
        AppConfig::from_yaml("# nothing set yet\n").unwrap(),
        AppConfig::default()
    );
    assert_eq!(
        grpckit::config::parse_yaml("# nothing\n").unwrap(),
        grpckit::config::Config::default()
    );
}
