//! `log.level` checks. `EnvFilter` reads any bare word as a target name, so a typo such as
//! `verbose` parses and then matches nothing: nothing is logged at all. Only level names are
//! accepted as bare words; a target needs `target=level`.

use std::str::FromStr;

use tracing_subscriber::filter::{Directive, LevelFilter};

use super::{InvalidValue, LogConfig};

/// The level names `log.level` accepts on their own.
pub const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

impl LogConfig {
    /// Checks `level`: comma-separated level names (`info`) or `EnvFilter` directives
    /// naming a target (`grpckit=debug`, `h2=off`).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        check_log_level(&self.level).map_err(|e| InvalidValue::new("log.level", e))
    }
}

/// Checks one filter string as [`LogConfig::validate`] does; the error names the valid
/// levels.
pub fn check_log_level(filter: &str) -> Result<(), String> {
    let expected = || {
        format!(
            "expected one of {} or EnvFilter directives like grpckit=debug,info",
            LOG_LEVELS.join(", ")
        )
    };
    let mut any = false;
    for part in filter.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        any = true;
        let bare = !part.contains(['=', '[', ':']);
        if bare {
            if LevelFilter::from_str(part).is_err() {
                return Err(format!("unknown level '{part}'; {}", expected()));
            }
        } else if let Err(e) = Directive::from_str(part) {
            return Err(format!("invalid directive '{part}' ({e}); {}", expected()));
        }
    }
    if !any {
        return Err(format!("empty; {}", expected()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_levels_and_target_directives() {
        for ok in [
            "info",
            "DEBUG",
            "off",
            "grpckit=debug,info",
            "h2=off, warn",
            "1",
        ] {
            assert_eq!(check_log_level(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_unknown_words_naming_the_valid_levels() {
        let e = check_log_level("verbose").unwrap_err();
        assert!(e.contains("'verbose'"), "{e}");
        for level in LOG_LEVELS {
            assert!(e.contains(level), "{e}");
        }
        assert!(check_log_level("grpckit=loud").is_err());
        assert!(check_log_level(" , ").is_err());
    }
}
