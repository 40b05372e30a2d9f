//! The README's library example is this example's `main.rs`, word for word.

#[test]
fn the_readme_shows_main_rs_as_it_is() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Using grpckit as a library")
        .nth(1)
        .expect("README section");
    let block = section
        .split("```rust,ignore\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("rust block");
    let main: String = include_str!("../src/main.rs")
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .skip_while(|l| l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(block, main);
}

/// bench/greeter.yaml parses and leaves no part of the chain a no-op.
#[test]
fn the_benchmark_config_turns_every_part_on() {
    let cfg = grpckit::config::parse_yaml(include_str!("../../../bench/greeter.yaml"))
        .expect("bench/greeter.yaml parses");
    let m = &cfg.middleware;
    assert!(m.enabled && m.auth.enabled && m.rate_limit.enabled);
    assert_eq!(m.auth.jwt.keys.len(), 1);
    assert!(m.auth.jwt.issuer.as_deref().is_some_and(|s| !s.is_empty()));
    assert!(
        m.auth
            .jwt
            .audience
            .as_deref()
            .is_some_and(|s| !s.is_empty())
    );
    assert!(
        m.rate_limit
            .rules
            .iter()
            .any(|r| r.methods.to_string() == "helloworld.Greeter/*" && r.per_second > 0)
    );
    assert!(m.validate.enabled && m.log.enabled);
    assert!(cfg.telemetry.metrics.enabled);
    assert_eq!(
        cfg.server.runtime,
        grpckit::config::RuntimeFlavor::CurrentThread
    );
}
