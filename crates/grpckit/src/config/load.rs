//! Reading and checking a YAML file.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::{Config, ConfigError};

/// Parses YAML text into a validated [`Config`]; an empty text is the defaults.
pub fn parse_yaml(text: &str) -> Result<Config, ConfigError> {
    let cfg: Config = from_yaml_str(text)?;
    cfg.validate()?;
    Ok(cfg)
}

/// Reads and parses a YAML file; errors name the file.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    parse_yaml(&read_file(path)?).map_err(|e| e.in_file(path))
}

/// The text of a config file.
pub fn read_file(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Deserializes YAML text into any config type (its default when the text is empty); errors
/// name the key path, line and column. No cross-field checks.
pub fn from_yaml_str<T: DeserializeOwned + Default>(text: &str) -> Result<T, ConfigError> {
    if text.trim().is_empty() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(serde_norway::Deserializer::from_str(text))
        .map_err(ConfigError::from_yaml)
}

/// Parses YAML text into a value, e.g. to move earlier key spellings
/// ([`super::MovedKey`]) before [`from_yaml_value`].
pub fn yaml_value(text: &str) -> Result<serde_norway::Value, ConfigError> {
    if text.trim().is_empty() {
        return Ok(serde_norway::Value::Null);
    }
    serde_norway::from_str(text).map_err(ConfigError::syntax)
}

/// Deserializes a YAML value into any config type (its default when the value is `null`);
/// errors name the key path (a value has no line numbers).
pub fn from_yaml_value<T: DeserializeOwned + Default>(
    value: serde_norway::Value,
) -> Result<T, ConfigError> {
    if value.is_null() {
        return Ok(T::default());
    }
    serde_path_to_error::deserialize(value).map_err(ConfigError::from_yaml)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn original_shape_parses() {
        let cfg = parse_yaml(
            r#"
server:
  address: "0.0.0.0"
  port: 9090
  enable_tls: false
  max_recv_size: 4194304
  max_send_size: 4194304
  max_concurrent_streams: 1000
  keep_alive:
    time: 60s
    timeout: 5s
    min_time: 30s
client:
  enable_load_balancing: true
  load_balancing_policy: "round_robin"
  connection_timeout: 10s
  keep_alive:
    time: 30s
    timeout: 5s
  retry:
    max_attempts: 3
    initial_backoff: 100ms
    max_backoff: 5s
"#,
        )
        .unwrap();
        assert_eq!(cfg.server.keep_alive.min_time, Duration::from_secs(30));
        assert_eq!(cfg.client.retry.initial_backoff, Duration::from_millis(100));
    }

    #[test]
    fn unknown_key_is_named() {
        let err = parse_yaml("server:\n  prot: 1\n").unwrap_err().to_string();
        assert!(err.contains("server") && err.contains("prot"), "{err}");
    }

    #[test]
    fn bad_duration_is_named() {
        let err = parse_yaml("server:\n  keep_alive:\n    time: soon\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.keep_alive.time"), "{err}");
    }

    #[test]
    fn keep_alive_probe_parses_and_bad_names_are_refused() {
        let cfg = parse_yaml("server:\n  keep_alive:\n    probe: http2\n").unwrap();
        assert_eq!(
            cfg.server.keep_alive.probe,
            crate::config::KeepAliveProbe::Http2
        );
        let err = parse_yaml("server:\n  keep_alive:\n    probe: udp\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.keep_alive.probe"), "{err}");
    }

    #[test]
    fn bad_value_is_named() {
        let err = parse_yaml("server:\n  max_recv_size: 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.max_recv_size"), "{err}");
    }

    #[test]
    fn tls_without_certificate_and_key_names_them() {
        let err = parse_yaml("server:\n  enable_tls: true\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("server.enable_tls:"), "{err}");
        assert!(err.contains("server.tls.cert_file"), "{err}");
        assert!(err.contains("server.tls.key_file"), "{err}");
        assert!(parse_yaml("server:\n  enable_tls: false\n").is_ok());
        let cfg = parse_yaml(
            "server:\n  enable_tls: true\n  tls:\n    cert_file: s.pem\n    key_file: s.key\n    min_version: \"1.2\"\n",
        )
        .unwrap();
        assert_eq!(cfg.server.tls.min_version, crate::config::TlsVersion::Tls12);
    }

    #[test]
    fn admin_tls_parses_and_needs_both_files() {
        let cfg =
            parse_yaml("server:\n  admin_tls: {cert_file: a.pem, key_file: a.key}\n").unwrap();
        assert_eq!(
            cfg.server.admin_tls.cert_file.as_deref(),
            Some(std::path::Path::new("a.pem"))
        );
        let err = parse_yaml("server:\n  admin_tls: {cert_file: a.pem}\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("server.admin_tls.key_file:"), "{err}");
    }

    #[test]
    fn min_time_is_enforced_so_not_reported() {
        let cfg = parse_yaml("server:\n  keep_alive:\n    min_time: 5s\n").unwrap();
        assert!(cfg.server.unenforced_keys().is_empty());
    }

    #[test]
    fn http2_keys_parse_and_are_checked() {
        let cfg = parse_yaml(
            "server:\n  handshake_timeout: 2s\n  http2:\n    max_frame_size: 32768\n    max_control_frames_per_second: 0\n",
        )
        .unwrap();
        assert_eq!(
            cfg.server.handshake_timeout,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(cfg.server.http2.max_frame_size, 32768);
        let e = parse_yaml("server:\n  http2:\n    max_frame_size: 100\n").unwrap_err();
        assert_eq!(e.key(), Some("server.http2.max_frame_size"), "{e}");
        let e = parse_yaml("server:\n  http2:\n    window: 1\n").unwrap_err();
        assert!(e.to_string().contains("window"), "{e}");
        let e = parse_yaml("server:\n  handshake_timeout: 0s\n").unwrap_err();
        assert_eq!(e.key(), Some("server.handshake_timeout"), "{e}");
        // A config built in code is checked before serving (h2 would panic on it).
        let mut cfg = crate::config::ServerConfig::default();
        cfg.http2.max_frame_size = 1;
        let e = cfg.check_available().unwrap_err();
        assert!(e.starts_with("server.http2.max_frame_size"), "{e}");
    }

    #[test]
    fn errors_are_typed_with_the_key_and_position() {
        let e = parse_yaml("log:\n  level: info\nserver:\n  keep_alive:\n    time: soon\n")
            .unwrap_err();
        assert_eq!(e.key(), Some("server.keep_alive.time"));
        let at = e.location().unwrap();
        assert_eq!((at.line, at.column), (5, 11), "{e}");
        let e = parse_yaml("server:\n  max_recv_size: 0\n").unwrap_err();
        assert!(matches!(&e, ConfigError::Invalid(v) if v.key == "server.max_recv_size"));
        let e =
            parse_yaml("middleware:\n  auth:\n    roles:\n      - { role: a, allow: [a/b/c] }\n")
                .unwrap_err();
        assert_eq!(e.key(), Some("middleware.auth.roles[0].allow[0]"), "{e}");
        assert!(e.to_string().contains("more than one '/'"), "{e}");
        let e = parse_yaml("server: [1\n").unwrap_err();
        assert!(e.location().is_some(), "{e}");
    }

    #[test]
    fn file_errors_name_the_file_and_keep_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, "server:\n  prot: 1\n").unwrap();
        let e = load_file(&path).unwrap_err();
        assert!(
            e.to_string().starts_with(&path.display().to_string()),
            "{e}"
        );
        assert_eq!(e.key(), Some("server.prot"));
        let missing = load_file(&dir.path().join("none.yaml")).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
    }

    #[test]
    fn key_is_named_once() {
        let err = parse_yaml("server:\n  port: 99999\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err.matches("server.port").count(), 1, "{err}");
    }
}
