//! The effective config of `grpckit server` and `grpckit config print`, in layers:
//! defaults < YAML file (`--config`) < nested environment variables
//! (`GRPCKIT_SERVER__PORT=9090`, [`ENV`]) < flags.
//!
//! Every flag also reads a flat variable (`--listen` / `GRPCKIT_LISTEN`, [`FLAGS`]); clap
//! reads those, so a flat variable is applied as its flag, after the nested ones: it wins
//! over the nested spelling of the same key. No flat name contains `__`, so none is read as
//! a nested key (a test checks it).

use std::{ffi::OsStr, path::PathBuf};

use anyhow::bail;
use grpckit::config::{EnvLayer, EnvOverrides, LogFormat, RuntimeFlavor, check_log_level};
use grpckit_services::config::{AppConfig, ServiceName};

use crate::{args::ServerArgs, server::parse_addr};

/// Nested variables: `GRPCKIT_` + the key path, levels separated by `__`.
pub const ENV: EnvLayer = EnvLayer::new("GRPCKIT_");

/// A server flag: its clap id, spelling, flat variable and the keys it sets.
#[derive(Debug)]
pub struct Flag {
    /// The clap id (the field of [`ServerArgs`]).
    pub id: &'static str,
    /// `--listen`.
    pub long: &'static str,
    /// `GRPCKIT_LISTEN`.
    pub env: &'static str,
    /// The keys it sets.
    pub keys: &'static [&'static str],
    /// Whether `args` gives it (a boolean flag only when true).
    pub given: fn(&ServerArgs) -> bool,
}

/// The server flags that set config keys (all but `--config`), in [`ServerArgs`] order.
pub const FLAGS: &[Flag] = &[
    Flag {
        id: "listen",
        long: "--listen",
        env: "GRPCKIT_LISTEN",
        keys: &["server.address", "server.port"],
        given: |a| a.listen.is_some(),
    },
    Flag {
        id: "metrics_listen",
        long: "--metrics-listen",
        env: "GRPCKIT_METRICS_LISTEN",
        keys: &["server.metrics_listen"],
        given: |a| a.metrics_listen.is_some(),
    },
    Flag {
        id: "database_url",
        long: "--database-url",
        env: "GRPCKIT_DATABASE_URL",
        keys: &["database.url"],
        given: |a| a.database_url.is_some(),
    },
    Flag {
        id: "services",
        long: "--services",
        env: "GRPCKIT_SERVICES",
        keys: &["services.serve"],
        given: |a| a.services.is_some(),
    },
    Flag {
        id: "user_service",
        long: "--user-service",
        env: "GRPCKIT_USER_SERVICE",
        keys: &["services.user_service"],
        given: |a| a.user_service.is_some(),
    },
    Flag {
        id: "jwt_secret",
        long: "--jwt-secret",
        env: "GRPCKIT_JWT_SECRET",
        keys: &["auth.jwt_secret"],
        given: |a| a.jwt_secret.is_some(),
    },
    Flag {
        id: "admin_email",
        long: "--admin-email",
        env: "GRPCKIT_ADMIN_EMAIL",
        keys: &["auth.admin_email"],
        given: |a| a.admin_email.is_some(),
    },
    Flag {
        id: "admin_password",
        long: "--admin-password",
        env: "GRPCKIT_ADMIN_PASSWORD",
        keys: &["auth.admin_password"],
        given: |a| a.admin_password.is_some(),
    },
    Flag {
        id: "log_level",
        long: "--log-level",
        env: "GRPCKIT_LOG_LEVEL",
        keys: &["log.level"],
        given: |a| a.log_level.is_some(),
    },
    Flag {
        id: "log_format",
        long: "--log-format",
        env: "GRPCKIT_LOG_FORMAT",
        keys: &["log.format"],
        given: |a| a.log_format.is_some(),
    },
    Flag {
        id: "logistics_interval",
        long: "--logistics-interval",
        env: "GRPCKIT_LOGISTICS_INTERVAL",
        keys: &["logistics.interval"],
        given: |a| a.logistics_interval.is_some(),
    },
    Flag {
        id: "shutdown_grace",
        long: "--shutdown-grace",
        env: "GRPCKIT_SHUTDOWN_GRACE",
        keys: &["server.shutdown_grace"],
        given: |a| a.shutdown_grace.is_some(),
    },
    Flag {
        id: "drain_delay",
        long: "--drain-delay",
        env: "GRPCKIT_DRAIN_DELAY",
        keys: &["server.drain_delay"],
        given: |a| a.drain_delay.is_some(),
    },
    Flag {
        id: "runtime",
        long: "--runtime",
        env: "GRPCKIT_RUNTIME",
        keys: &["server.runtime"],
        given: |a| a.runtime.is_some(),
    },
    Flag {
        id: "workers",
        long: "--workers",
        env: "GRPCKIT_WORKERS",
        keys: &["server.workers"],
        given: |a| a.workers.is_some(),
    },
    Flag {
        id: "cores",
        long: "--cores",
        env: "GRPCKIT_CORES",
        keys: &["server.cores"],
        given: |a| a.cores.is_some(),
    },
    Flag {
        id: "pin_cores",
        long: "--pin-cores",
        env: "GRPCKIT_PIN_CORES",
        keys: &["server.pin_cores"],
        given: |a| a.pin_cores,
    },
    Flag {
        id: "no_auth",
        long: "--no-auth",
        env: "GRPCKIT_NO_AUTH",
        keys: &["middleware.auth.enabled"],
        given: |a| a.no_auth,
    },
    Flag {
        id: "tls_cert",
        long: "--tls-cert",
        env: "GRPCKIT_TLS_CERT",
        keys: &["server.enable_tls", "server.tls.cert_file"],
        given: |a| a.tls_cert.is_some(),
    },
    Flag {
        id: "tls_key",
        long: "--tls-key",
        env: "GRPCKIT_TLS_KEY",
        keys: &["server.tls.key_file"],
        given: |a| a.tls_key.is_some(),
    },
    Flag {
        id: "tls_client_ca",
        long: "--tls-client-ca",
        env: "GRPCKIT_TLS_CLIENT_CA",
        keys: &["server.tls.client_ca_file"],
        given: |a| a.tls_client_ca.is_some(),
    },
];

/// The effective config and the layers it was made of.
#[derive(Debug)]
pub struct Layers {
    /// The validated config.
    pub config: AppConfig,
    /// The file and its text, when one was given.
    pub file: Option<(PathBuf, String)>,
    /// The nested variables that set keys.
    pub env: EnvOverrides,
}

/// Loads the config as `grpckit server` does, with `vars` as the environment (e.g.
/// `std::env::vars_os()`; flat variables are already in `args`, as clap read them).
///
/// # Errors
/// The file cannot be read, a layer does not parse, or the result is invalid; an error from
/// a nested variable names it, one from a flag names the flag.
pub fn load<I, K, V>(args: &ServerArgs, vars: I) -> anyhow::Result<Layers>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let env = ENV.read(vars)?;
    let (mut config, file) = match &args.config {
        Some(path) => {
            let text = grpckit::config::read_file(path)?;
            let cfg = AppConfig::from_yaml_with_env(&text, &env).map_err(|e| e.in_file(path))?;
            (cfg, Some((path.clone(), text)))
        }
        None => (AppConfig::from_yaml_with_env("", &env)?, None),
    };
    apply_flags(&mut config, args)?;
    config.validate()?;
    Ok(Layers { config, file, env })
}

/// Puts the flags `args` gives over `cfg`.
fn apply_flags(cfg: &mut AppConfig, args: &ServerArgs) -> anyhow::Result<()> {
    if let Some(l) = &args.listen {
        let a = parse_addr("--listen", l)?;
        cfg.server.address = a.ip().to_string();
        cfg.server.port = a.port();
    }
    if let Some(m) = &args.metrics_listen {
        cfg.server.metrics_listen = parse_addr("--metrics-listen", m)?;
    }
    if let Some(u) = &args.database_url {
        cfg.database.url = u.clone();
    }
    if let Some(s) = &args.services {
        let mut v = Vec::new();
        for name in s.iter().filter(|n| !n.trim().is_empty()) {
            let svc: ServiceName = name
                .parse()
                .map_err(|e| anyhow::anyhow!("--services: {e}"))?;
            if !v.contains(&svc) {
                v.push(svc);
            }
        }
        cfg.services.serve = v;
    }
    if let Some(u) = &args.user_service {
        cfg.services.user_service = u.clone();
    }
    if let Some(s) = &args.jwt_secret {
        cfg.auth.jwt_secret = s.clone();
    }
    if let Some(e) = &args.admin_email {
        cfg.auth.admin_email = e.clone();
    }
    if let Some(p) = &args.admin_password {
        cfg.auth.admin_password = p.clone();
    }
    if let Some(l) = &args.log_level {
        check_log_level(l).map_err(|e| anyhow::anyhow!("--log-level: {e}"))?;
        cfg.log.level = l.clone();
    }
    if let Some(f) = &args.log_format {
        cfg.log.format = match f.as_str() {
            "json" => LogFormat::Json,
            "pretty" => LogFormat::Pretty,
            other => bail!("--log-format: expected json or pretty, got '{other}'"),
        };
    }
    if let Some(i) = args.logistics_interval {
        cfg.logistics.interval = i;
    }
    if let Some(g) = args.shutdown_grace {
        cfg.server.shutdown_grace = g;
    }
    if let Some(d) = args.drain_delay {
        cfg.server.drain_delay = d;
    }
    if let Some(r) = &args.runtime {
        cfg.server.runtime = r
            .parse::<RuntimeFlavor>()
            .map_err(|e| anyhow::anyhow!("--runtime: {e}"))?;
    }
    if let Some(w) = args.workers {
        cfg.server.workers = w;
    }
    if let Some(c) = args.cores {
        cfg.server.cores = c;
    }
    if args.no_auth {
        cfg.middleware.auth.enabled = false;
    }
    if args.pin_cores {
        cfg.server.pin_cores = true;
    }
    if let Some(cert) = &args.tls_cert {
        cfg.server.enable_tls = true;
        cfg.server.tls.cert_file = Some(cert.clone());
    }
    if let Some(key) = &args.tls_key {
        cfg.server.tls.key_file = Some(key.clone());
    }
    if let Some(ca) = &args.tls_client_ca {
        cfg.server.tls.client_ca_file = Some(ca.clone());
    }
    Ok(())
}

/// The flag that set `key` in `args`, if any.
pub fn flag_of(args: &ServerArgs, key: &str) -> Option<&'static Flag> {
    FLAGS
        .iter()
        .find(|f| (f.given)(args) && f.keys.contains(&key))
}

#[cfg(test)]
mod tests;
