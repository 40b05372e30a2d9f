//! Command-line arguments. Every server flag also reads a `GRPCKIT_*` environment variable;
//! flags win over the environment, which wins over the config file. Boolean flags read their
//! variable as 1/0, true/false, yes/no or on/off (any case).

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, builder::BoolishValueParser};

pub use crate::{
    call::{CallArgs, DescribeArgs, ListArgs},
    perf::PerfArgs,
};

/// grpckit: serve, call, stream and load-test gRPC services.
#[derive(Debug, Parser)]
#[command(name = "grpckit", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve UserService and/or OrderService (defaults: 0.0.0.0:9090, metrics 0.0.0.0:9091, SQLite).
    Server(Box<ServerArgs>),
    /// Exercise every unary method end to end and report.
    Client(ClientArgs),
    /// Exercise server streaming, client streaming and bidirectional chat and report.
    Stream(ClientArgs),
    /// Load test any method, or a realistic mix (default: 10 concurrent workers, 1000 requests).
    Perf(PerfArgs),
    /// Call any method with JSON in and out (descriptors from reflection or --proto).
    Call(CallArgs),
    /// List services, or the methods of one service.
    List(ListArgs),
    /// Describe a service, method, message or enum as proto text.
    Describe(DescribeArgs),
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// `grpckit server`
#[derive(Debug, Args, Default, Clone)]
pub struct ServerArgs {
    /// YAML config file (shape of SPEC S9).
    #[arg(long, env = "GRPCKIT_CONFIG")]
    pub config: Option<PathBuf>,
    /// gRPC listen address, e.g. 0.0.0.0:9090.
    #[arg(long, env = "GRPCKIT_LISTEN")]
    pub listen: Option<String>,
    /// Admin/metrics listen address, e.g. 0.0.0.0:9091.
    #[arg(long, env = "GRPCKIT_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// sqlite://FILE (default sqlite://grpckit.db) or postgres://USER@HOST/DB.
    #[arg(long, env = "GRPCKIT_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Services to serve: user, order or both (comma separated).
    #[arg(long, env = "GRPCKIT_SERVICES", value_delimiter = ',')]
    pub services: Option<Vec<String>>,
    /// UserService address when serving only `order`, e.g. http://127.0.0.1:9090.
    #[arg(long, env = "GRPCKIT_USER_SERVICE")]
    pub user_service: Option<String>,
    /// HS256 secret for issued tokens.
    #[arg(long, env = "GRPCKIT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Admin account bootstrapped at start (with --admin-password).
    #[arg(long, env = "GRPCKIT_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Password of the bootstrapped admin.
    #[arg(long, env = "GRPCKIT_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Log level (trace, debug, info, warn, error, off) or EnvFilter directives, e.g.
    /// grpckit=debug,info.
    #[arg(long, env = "GRPCKIT_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format: json or pretty.
    #[arg(long, env = "GRPCKIT_LOG_FORMAT")]
    pub log_format: Option<String>,
    /// Step interval of the logistics simulator, e.g. 5s.
    #[arg(long, env = "GRPCKIT_LOGISTICS_INTERVAL", value_parser = humantime::parse_duration)]
    pub logistics_interval: Option<Duration>,
    /// Grace period for in-flight calls on shutdown, e.g. 10s.
    #[arg(long, env = "GRPCKIT_SHUTDOWN_GRACE", value_parser = humantime::parse_duration)]
    pub shutdown_grace: Option<Duration>,
    /// Runtime: auto (default), multi_thread, current_thread or thread_per_core.
    #[arg(long, env = "GRPCKIT_RUNTIME")]
    pub runtime: Option<String>,
    /// Worker threads for multi_thread (0 = one per available CPU).
    #[arg(long, env = "GRPCKIT_WORKERS")]
    pub workers: Option<usize>,
    /// Serving threads for thread_per_core (0 = one per available CPU).
    #[arg(long, env = "GRPCKIT_CORES")]
    pub cores: Option<usize>,
    /// Pin thread_per_core serving threads to CPUs.
    #[arg(long, env = "GRPCKIT_PIN_CORES", value_parser = BoolishValueParser::new())]
    pub pin_cores: bool,
    /// Serve without authentication (`middleware.auth.enabled: false`): every method is open.
    /// For local development only; a warning is logged.
    #[arg(long, env = "GRPCKIT_NO_AUTH", value_parser = BoolishValueParser::new())]
    pub no_auth: bool,
}

/// Target of `client` and `stream`.
#[derive(Debug, Args, Clone)]
pub struct ClientArgs {
    /// Server address, HOST:PORT or http://HOST:PORT.
    #[arg(long, default_value = "localhost:9090", env = "GRPCKIT_ADDR")]
    pub addr: String,
    /// Per-call deadline.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
}

/// `grpckit admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin account (or promote an existing one) directly in the database.
    Create {
        /// Email of the admin.
        #[arg(long)]
        email: String,
        /// Password (8+ characters); read from GRPCKIT_ADMIN_PASSWORD when omitted.
        #[arg(long, env = "GRPCKIT_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// Display name.
        #[arg(long, default_value = "admin")]
        name: String,
        /// Database URL.
        #[arg(
            long,
            env = "GRPCKIT_DATABASE_URL",
            default_value = "sqlite://grpckit.db"
        )]
        database_url: String,
    },
}

/// Rewrites the original Go flag spellings (`-server`, `-client -addr X`, `-perf`,
/// `-stream`) into subcommands and long flags.
pub fn rewrite_legacy_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    args.into_iter()
        .enumerate()
        .map(|(i, a)| match a.as_str() {
            "-server" | "-client" | "-perf" | "-stream" if i > 0 => a[1..].to_owned(),
            "-addr" | "-config" | "-listen" => format!("-{a}"),
            _ => a,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_flags() {
        let v = rewrite_legacy_args(
            ["grpckit", "-client", "-addr", "localhost:9090"].map(String::from),
        );
        assert_eq!(v, ["grpckit", "client", "--addr", "localhost:9090"]);
        assert!(Cli::try_parse_from(v).is_ok());
        assert!(
            Cli::try_parse_from(rewrite_legacy_args(
                ["grpckit", "-server"].map(String::from)
            ))
            .is_ok()
        );
    }
}
