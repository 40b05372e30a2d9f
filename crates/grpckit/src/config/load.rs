//! Reading and checking a YAML file.

use std::path::{Path, PathBuf};

use super::Config;

/// Why a configuration could not be loaded. The message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// YAML syntax error, unknown key or wrong type.
    #[error("{0}")]
    Parse(String),
    /// A value is out of range or inconsistent.
    #[error("{0}")]
    Invalid(String),
}

/// Parses YAML text into a validated [`Config`].
pub fn parse_yaml(text: &str) -> Result<Config, ConfigError> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    let de = serde_norway::Deserializer::from_str(text);
    let cfg: Config = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // serde_norway names the key itself for some errors: say it once.
        if path.is_empty() || path == "." || inner.starts_with(&format!("{path}:")) {
            ConfigError::Parse(inner)
        } else {
            ConfigError::Parse(format!("{path}: {inner}"))
        }
    })?;
    cfg.validate().map_err(ConfigError::Invalid)?;
    Ok(cfg)
}

/// Reads and parses a YAML file.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_yaml(&text).map_err(|e| match e {
        ConfigError::Parse(m) => ConfigError::Parse(format!("{}: {m}", path.display())),
        ConfigError::Invalid(m) => ConfigError::Invalid(format!("{}: {m}", path.display())),
        other => other,
    })
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
        let err = parse_yaml("database:\n  url: mysql://x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("database.url"), "{err}");
    }

    #[test]
    fn tls_is_refused_until_it_exists() {
        let err = parse_yaml("server:\n  enable_tls: true\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("server.enable_tls:"), "{err}");
        assert!(err.contains("not available yet"), "{err}");
        assert!(parse_yaml("server:\n  enable_tls: false\n").is_ok());
    }

    #[test]
    fn only_a_non_default_min_time_is_reported_unenforced() {
        let cfg = parse_yaml("server:\n  keep_alive:\n    min_time: 30s\n").unwrap();
        assert!(cfg.server.unenforced_keys().is_empty());
        let cfg = parse_yaml("server:\n  keep_alive:\n    min_time: 5s\n").unwrap();
        assert_eq!(
            cfg.server.unenforced_keys(),
            [("server.keep_alive.min_time", "5s".to_owned())]
        );
    }

    #[test]
    fn key_is_named_once() {
        let err = parse_yaml("server:\n  port: 99999\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err.matches("server.port").count(), 1, "{err}");
    }
}
