//! Command-line arguments. Every server flag also reads a flat `GRPCKIT_*` environment
//! variable, its alias; flags and their aliases win over the nested variables
//! (`GRPCKIT_SERVER__PORT`), which win over the config file ([`crate::layers`]). Boolean flags read their
//! variable as 1/0, true/false, yes/no or on/off (any case).

use std::{path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, builder::BoolishValueParser};

pub use crate::{
    call::{CallArgs, DescribeArgs, ListArgs},
    go_flags::rewrite_legacy_args,
    health::HealthArgs,
    perf::PerfArgs,
};

/// `grpckit --version`: package version, git revision and build profile (from `build.rs`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("GRPCKIT_GIT_REV"),
    ", ",
    env!("GRPCKIT_BUILD_PROFILE"),
    " build)"
);

/// grpckit: serve, call, stream and load-test gRPC services.
///
/// grpckit is a gRPC microservice server and a gRPC toolbox in one binary. `grpckit server`
/// runs two services, user.v1.UserService (sign-up, login with JWT tokens, user records) and
/// order.v1.OrderService (orders, payments, live tracking and chat streams), with
/// authentication, rate limits, request validation, health checking, reflection, Prometheus
/// metrics and OpenTelemetry tracing; SQLite by default, PostgreSQL by URL.
///
/// `client` and `stream` exercise a running server end to end. `call`, `list` and `describe`
/// work against any gRPC server with reflection (or given .proto files), like grpcurl; `perf`
/// load-tests any method, like ghz.
///
/// The original Go tool's spellings work too: `grpckit -server`, `grpckit -client
/// -addr=localhost:9090`.
#[derive(Debug, Parser)]
#[command(
    name = "grpckit",
    version = VERSION,
    verbatim_doc_comment,
    after_help = "Examples:\n  grpckit server                                 # serve on 0.0.0.0:9090, metrics on :9091\n  grpckit client --addr localhost:9090           # run every unary method once\n  grpckit list --addr localhost:9090             # services, via reflection\n  grpckit perf --addr localhost:9090 -c 50 -z 10s\n\nRun `grpckit COMMAND --help` for the options of a command."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve UserService and/or OrderService (defaults: 0.0.0.0:9090, metrics 0.0.0.0:9091, SQLite)
    ///
    /// Serves user.v1.UserService and order.v1.OrderService over gRPC on --listen (default
    /// 0.0.0.0:9090), with gRPC health checking and server reflection, and an admin port on
    /// --metrics-listen (default 0.0.0.0:9091) with /metrics (Prometheus), /healthz and a live
    /// stats page at /. Data lives in SQLite (default sqlite://grpckit.db) or PostgreSQL.
    ///
    /// Authentication is on: Login and CreateUser are public, every other method needs
    /// `authorization: Bearer <token from Login>`. Settings come from flags (and their
    /// GRPCKIT_* variables), then nested GRPCKIT_SECTION__KEY variables, then the YAML file
    /// given with --config (`grpckit config print` shows the result). Ctrl-C or SIGTERM stops
    /// accepting calls and lets in-flight calls finish within --shutdown-grace.
    #[command(verbatim_doc_comment)]
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
    /// Print the OpenAPI 3.1 document of the REST bindings (as the server's /openapi.json).
    Openapi(crate::openapi::OpenapiArgs),
    /// Ask a server's gRPC health service once; exit 0 when SERVING, 1 otherwise.
    ///
    /// One grpc.health.v1.Health/Check call (the server as a whole unless --service is
    /// given), within --timeout for connecting and the answer: prints `ADDR: SERVING` and
    /// exits 0, or prints the status or what failed and exits 1. Made for container health
    /// checks, e.g. `HEALTHCHECK CMD ["grpckit", "health", "--addr", "127.0.0.1:9090"]`.
    #[command(verbatim_doc_comment)]
    Health(HealthArgs),
    /// Development certificates for TLS and mutual TLS (`certs init --out DIR`).
    #[command(subcommand)]
    Certs(crate::certs::CertsCommand),
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Configuration files (`config check FILE`, `config default`, `config print`).
    #[command(subcommand)]
    Config(ConfigCommand),
}

/// `grpckit config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a YAML config file as `grpckit server --config FILE` would load it.
    ///
    /// Prints `FILE: ok` and exits 0, or prints what is wrong (the key, the line and column
    /// when the parser knows them, what was expected) and exits 1. Keys under an earlier
    /// spelling are reported with their current one.
    #[command(verbatim_doc_comment)]
    Check {
        /// The file.
        file: std::path::PathBuf,
    },
    /// Print the default config file: every key with its default value and a comment.
    ///
    /// Written from the same types `config check` and `server --config` read, so it loads
    /// back to exactly the defaults. Start a file of your own from it, keeping only what you
    /// change: `grpckit config default > grpckit.yaml`.
    #[command(verbatim_doc_comment)]
    Default,
    /// Print the effective config, and where each value came from.
    ///
    /// Loaded as `grpckit server` with the same flags and environment would load it
    /// (defaults < --config FILE < GRPCKIT_SECTION__KEY variables < flags and their
    /// GRPCKIT_* variables), secrets shown as <redacted>. Each value is followed by its
    /// source: `default`, `file FILE:LINE`, `env GRPCKIT_SERVER__PORT`, `flag --listen` or
    /// `env GRPCKIT_LISTEN (flag alias)`. Exits 1, naming the key or variable, when the
    /// server would refuse the config.
    #[command(verbatim_doc_comment)]
    Print(Box<ServerArgs>),
}

/// `grpckit server`
#[derive(Debug, Args, Default, Clone)]
pub struct ServerArgs {
    /// YAML config file (server, services, database, auth, middleware, telemetry and logging
    /// sections).
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
    /// How long health reports NOT_SERVING on SIGTERM before the listener closes
    /// (`server.drain_delay`), e.g. 5s; pair it with a Kubernetes preStop sleep.
    #[arg(long, env = "GRPCKIT_DRAIN_DELAY", value_parser = humantime::parse_duration)]
    pub drain_delay: Option<Duration>,
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
    /// Serve TLS with this PEM certificate chain (`server.tls.cert_file`; turns
    /// `server.enable_tls` on). Needs --tls-key.
    #[arg(long, env = "GRPCKIT_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (`server.tls.key_file`).
    #[arg(long, env = "GRPCKIT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Check client certificates against this PEM CA file (`server.tls.client_ca_file`;
    /// every client must then present one, `server.tls.client_auth: required`).
    #[arg(long, env = "GRPCKIT_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
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
