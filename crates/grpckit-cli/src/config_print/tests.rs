use super::*;

/// The comment on the line of the leaf `key` (its last level, under its sections).
fn source_of(out: &str, key: &str) -> String {
    let paths = lines::line_paths(out);
    let (line, _) = out
        .lines()
        .zip(paths)
        .find(|(_, p)| p.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no line for {key} in\n{out}"));
    line.split_once("  # ")
        .map(|(_, c)| c.to_owned())
        .unwrap_or_else(|| panic!("no source on '{line}'"))
}

#[test]
fn every_layer_is_named_and_secrets_are_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grpckit.yaml");
    std::fs::write(
        &file,
        "log:\n  level: warn\nserver:\n  port: 1000\n  keep_alive: { time: 9s }\n  services: [user]\nauth:\n  jwt_secret: file-secret-123\n",
    )
    .unwrap();
    let args = ServerArgs {
        config: Some(file.clone()),
        listen: Some("127.0.0.1:3000".into()),
        log_format: Some("pretty".into()),
        ..ServerArgs::default()
    };
    let env = [
        ("GRPCKIT_LOG__LEVEL", "debug"),
        ("GRPCKIT_SERVER__PORT", "2000"),
        ("GRPCKIT_DATABASE__MAX_CONNECTIONS", "3"),
        ("GRPCKIT_GIT_REV", "abc"),
    ];
    let out = render(&args, env, &["log_format"]).unwrap();
    let f = file.display();
    assert_eq!(source_of(&out, "log.level"), "env GRPCKIT_LOG__LEVEL");
    assert_eq!(
        source_of(&out, "log.format"),
        "env GRPCKIT_LOG_FORMAT (flag alias)"
    );
    assert_eq!(source_of(&out, "server.port"), "flag --listen");
    assert_eq!(source_of(&out, "server.address"), "flag --listen");
    assert_eq!(
        source_of(&out, "server.keep_alive.time"),
        format!("file {f}:5")
    );
    assert_eq!(source_of(&out, "server.keep_alive.timeout"), "default");
    assert_eq!(
        source_of(&out, "services.serve"),
        format!("file {f}:6"),
        "a moved key"
    );
    assert_eq!(source_of(&out, "auth.jwt_secret"), format!("file {f}:8"));
    assert_eq!(
        source_of(&out, "database.max_connections"),
        "env GRPCKIT_DATABASE__MAX_CONNECTIONS"
    );
    assert_eq!(source_of(&out, "database.url"), "default");
    assert!(!out.contains("file-secret-123"), "{out}");
    assert!(out.contains(&format!("jwt_secret: {REDACTED}")), "{out}");
    // Every leaf line has a source; the whole text is YAML.
    let value: Value = serde_norway::from_str(&out).unwrap();
    let mut leaves = Vec::new();
    leaf_paths(&value, "", &mut leaves);
    for leaf in leaves {
        source_of(&out, &leaf);
    }
}

#[test]
fn without_a_file_or_variables_everything_is_default() {
    let out = render(&ServerArgs::default(), Vec::<(String, String)>::new(), &[]).unwrap();
    assert!(out.starts_with(HEADER));
    let comments: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_once("  # ").map(|(_, c)| c))
        .collect();
    assert!(comments.len() > 100, "{out}");
    assert!(comments.iter().all(|c| *c == "default"), "{out}");
}
