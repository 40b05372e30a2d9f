//! The configuration types. Every struct denies unknown fields; every field has a default.

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};

pub use super::runtime::RuntimeFlavor;

/// The whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listener and HTTP/2 settings.
    pub server: ServerConfig,
    /// Settings of the framework's gRPC client (service-to-service, CLI).
    pub client: ClientConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// Token issuing and admin bootstrap.
    pub auth: AuthConfig,
    /// Event bus for activity feed, tracking and chat.
    pub events: EventsConfig,
    /// The logistics simulator that moves paid orders along.
    pub logistics: LogisticsConfig,
    /// Logging.
    pub log: LogConfig,
    /// The interceptor chain.
    pub middleware: super::middleware::MiddlewareConfig,
    /// Metrics and tracing.
    pub telemetry: super::TelemetryConfig,
}

/// Which reference services a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    /// `user.v1.UserService`
    User,
    /// `order.v1.OrderService`
    Order,
}

impl std::str::FromStr for ServiceName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "user" => Ok(Self::User),
            "order" => Ok(Self::Order),
            other => Err(format!(
                "unknown service '{other}' (expected user or order)"
            )),
        }
    }
}

/// `server:` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Bind address. Default `0.0.0.0`.
    pub address: String,
    /// gRPC port. Default `9090`.
    pub port: u16,
    /// Admin/metrics listener. Default `0.0.0.0:9091`.
    pub metrics_listen: SocketAddr,
    /// TLS on the gRPC port. Not available yet: `true` is rejected at start (see
    /// [`ServerConfig::check_available`]) rather than serving plaintext. Default `false`.
    pub enable_tls: bool,
    /// Largest accepted message in bytes. Default `4194304` (4 MiB).
    pub max_recv_size: usize,
    /// Largest sent message in bytes. Default `4194304` (4 MiB).
    pub max_send_size: usize,
    /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. Default `1000`.
    pub max_concurrent_streams: u32,
    /// HTTP/2 keep-alive.
    pub keep_alive: ServerKeepAlive,
    /// How long in-flight calls may take to finish after SIGTERM. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// How long health reports `NOT_SERVING` before the server stops accepting, so load
    /// balancers see it first (see `# Shutdown` on `ServerBuilder::run`). Default `0s`.
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// Services served by this process. Default both.
    pub services: Vec<ServiceName>,
    /// Address of UserService when this process serves only OrderService
    /// (e.g. `http://127.0.0.1:9090`). Empty = in-process.
    pub user_service: String,
    /// Runtime flavour: `auto` (default), `multi_thread`, `current_thread`, `thread_per_core`.
    pub runtime: RuntimeFlavor,
    /// Worker threads for `multi_thread`; 0 = one per available CPU. Default `0`.
    pub workers: usize,
    /// Serving threads for `thread_per_core`; 0 = one per available CPU. Default `0`.
    pub cores: usize,
    /// Pin each `thread_per_core` thread to its own CPU. Default `false`.
    pub pin_cores: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            address: "0.0.0.0".into(),
            port: 9090,
            metrics_listen: ([0, 0, 0, 0], 9091).into(),
            enable_tls: false,
            max_recv_size: 4 * 1024 * 1024,
            max_send_size: 4 * 1024 * 1024,
            max_concurrent_streams: 1000,
            keep_alive: ServerKeepAlive::default(),
            shutdown_grace: Duration::from_secs(10),
            drain_delay: Duration::ZERO,
            services: vec![ServiceName::User, ServiceName::Order],
            user_service: String::new(),
            runtime: RuntimeFlavor::Auto,
            workers: 0,
            cores: 0,
            pin_cores: false,
        }
    }
}

/// `server.keep_alive:` dead connections are found by probing a connection idle for `time`
/// and closing it when the probe is not answered within `timeout`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerKeepAlive {
    /// Idle time before a connection is probed. Default `60s`.
    #[serde(with = "humantime_serde")]
    pub time: Duration,
    /// A probe not answered within this closes the connection. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Minimum interval a client may ping at. Not enforced yet: a value other than the
    /// default is logged as a warning when serving starts. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub min_time: Duration,
    /// How idle connections are probed: `tcp` (default) or `http2`.
    pub probe: KeepAliveProbe,
}

impl Default for ServerKeepAlive {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            min_time: Duration::from_secs(30),
            probe: KeepAliveProbe::Tcp,
        }
    }
}

/// `server.keep_alive.probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeepAliveProbe {
    /// The kernel's TCP keep-alive probes (`SO_KEEPALIVE` with `time` as the idle time,
    /// `timeout` as the probe interval, one unanswered probe closes): finds dead peers and
    /// broken paths at no cost per call; a peer whose kernel still answers (a hung process)
    /// is not detected.
    #[default]
    Tcp,
    /// HTTP/2 PING frames, as grpc-go sends: also finds a peer whose process no longer
    /// answers, through proxies that terminate TCP. hyper then takes a lock and reads the
    /// clock for every frame it reads (about 2-3 % of a small unary call's CPU time).
    Http2,
}

/// `client:` section: the framework's client ([`crate::client::ClientBuilder`], `docs/client.md`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Spread calls over several endpoints. Default `true`.
    pub enable_load_balancing: bool,
    /// `round_robin`, `weighted_round_robin`, `least_connections` or `p2c_ewma`.
    pub load_balancing_policy: LoadBalancingPolicy,
    /// TCP connect timeout. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub connection_timeout: Duration,
    /// HTTP/2 keep-alive of client connections.
    pub keep_alive: ClientKeepAlive,
    /// Retry policy (gRPC A6).
    pub retry: RetryConfig,
    /// Default endpoints of a [`crate::client::ClientBuilder`] (see `config/client.rs`).
    pub endpoints: Vec<super::client::EndpointSpec>,
    /// HTTP/2 connections per endpoint (calls spread over them). Default `1`.
    pub connections_per_endpoint: usize,
    /// How often `dns://` names are re-resolved. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub dns_refresh_interval: Duration,
    /// Per-endpoint ejection after failures.
    pub outlier_detection: super::client::OutlierDetectionConfig,
    /// Per-client breaker.
    pub circuit_breaker: super::client::CircuitBreakerConfig,
    /// Active `grpc.health.v1` probing.
    pub health_check: super::client::HealthCheckConfig,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            enable_load_balancing: true,
            load_balancing_policy: LoadBalancingPolicy::RoundRobin,
            connection_timeout: Duration::from_secs(10),
            keep_alive: ClientKeepAlive::default(),
            retry: RetryConfig::default(),
            endpoints: Vec::new(),
            connections_per_endpoint: 1,
            dns_refresh_interval: Duration::from_secs(30),
            outlier_detection: Default::default(),
            circuit_breaker: Default::default(),
            health_check: Default::default(),
        }
    }
}

/// Load-balancing policy names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadBalancingPolicy {
    /// Each endpoint in turn.
    RoundRobin,
    /// In proportion to static weights.
    WeightedRoundRobin,
    /// Fewest outstanding requests.
    LeastConnections,
    /// Power of two choices over peak-EWMA latency.
    P2cEwma,
}

/// `client.keep_alive:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ClientKeepAlive {
    /// PING interval. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub time: Duration,
    /// PING ack timeout. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for ClientKeepAlive {
    fn default() -> Self {
        Self {
            time: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
        }
    }
}

/// `client.retry:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts including the first. Default `3`.
    pub max_attempts: u32,
    /// Default `100ms`.
    #[serde(with = "humantime_serde")]
    pub initial_backoff: Duration,
    /// Default `5s`.
    #[serde(with = "humantime_serde")]
    pub max_backoff: Duration,
    /// Back-off growth per attempt. Default `2.0`.
    pub backoff_multiplier: f64,
    /// Status codes that are retried. Default `[UNAVAILABLE]`.
    pub retryable_codes: Vec<super::client::CodeName>,
    /// Methods safe to send twice: `/pkg.Service/Method`, `/pkg.Service/*`, a trailing `*`
    /// prefix, or `*`. Others are retried only when the request surely never left the
    /// client. Default empty.
    pub idempotent_methods: Vec<String>,
    /// Retry throttle (A6 `retryThrottling`).
    pub budget: super::client::RetryBudgetConfig,
    /// Largest request body buffered for replay; bigger or streaming bodies are not
    /// retried. Default `65536`.
    pub max_buffer_bytes: usize,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            backoff_multiplier: 2.0,
            retryable_codes: super::client::default_retryable_codes(),
            idempotent_methods: Vec::new(),
            budget: Default::default(),
            max_buffer_bytes: 64 * 1024,
        }
    }
}

/// `database:` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://grpckit.db` (default, created on first run) or `postgres://...`.
    pub url: String,
    /// Pool size. Default `10`.
    pub max_connections: u32,
    /// Connections kept open. Default `1`.
    pub min_connections: u32,
    /// Read cache of users by id (`GetUser`, OrderService's user check).
    pub user_cache: UserCacheConfig,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://grpckit.db".into(),
            max_connections: 10,
            min_connections: 1,
            user_cache: UserCacheConfig::default(),
        }
    }
}

/// `database.user_cache:` — users read by id are kept in memory for `ttl`. Writes through
/// this process update the cache at once; writes by OTHER processes sharing the database are
/// seen after at most `ttl`. `capacity: 0` turns it off.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct UserCacheConfig {
    /// Most users kept. Default `10000`; `0` = no cache.
    pub capacity: usize,
    /// How long an entry is trusted. Default `2s`.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl Default for UserCacheConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            ttl: Duration::from_secs(2),
        }
    }
}

/// `auth:` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 secret for tokens issued by `Login` (env `GRPCKIT_JWT_SECRET`). Empty: a random
    /// secret is generated at start and tokens do not survive a restart. Required in split
    /// mode (see [`Config::split_mode`]).
    pub jwt_secret: String,
    /// `iss` claim. Default `grpckit`.
    pub issuer: String,
    /// `aud` claim. Default `grpckit`.
    pub audience: String,
    /// Lifetime of issued tokens. Default `1h`.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// Admin created (or promoted) at start when both are set
    /// (env `GRPCKIT_ADMIN_EMAIL`, `GRPCKIT_ADMIN_PASSWORD`).
    pub admin_email: String,
    /// See `admin_email`.
    pub admin_password: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            jwt_secret: String::new(),
            issuer: "grpckit".into(),
            audience: "grpckit".into(),
            token_ttl: Duration::from_secs(3600),
            admin_email: String::new(),
            admin_password: String::new(),
        }
    }
}

/// `events:` section. A topic exists while it has subscribers or retains replay history;
/// history is bounded by count, bytes per topic, age and a process-wide byte budget.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Events kept per topic for replay (`0`: no replay history). Default `100`.
    pub history: usize,
    /// Bytes of replay history kept per topic (approximate, oldest evicted first).
    /// Default `65536` (64 KiB).
    pub history_bytes: usize,
    /// How long a published event stays replayable (`0s`: no replay history); an idle
    /// topic is removed once its newest event is older. Default `60s`.
    #[serde(with = "humantime_serde")]
    pub replay_window: Duration,
    /// Bytes of replay history kept by the whole process; past it new events are delivered
    /// but not retained. Default `67108864` (64 MiB).
    pub max_retained_bytes: usize,
    /// Per-subscriber buffer; a subscriber further behind skips ahead. Default `256`.
    pub buffer: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            history: 100,
            history_bytes: 64 * 1024,
            replay_window: Duration::from_secs(60),
            max_retained_bytes: 64 * 1024 * 1024,
            buffer: 256,
        }
    }
}

/// `logistics:` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogisticsConfig {
    /// Run the simulator. Default `true`.
    pub enabled: bool,
    /// Time between PAID -> SHIPPED -> DELIVERED steps. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

impl Default for LogisticsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: Duration::from_secs(5),
        }
    }
}

/// `log:` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or `EnvFilter` directives,
    /// e.g. `grpckit=debug,info`; other bare words are rejected. Default `info`.
    pub level: String,
    /// `json` (default) or `pretty`.
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: LogFormat::Json,
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

impl ServerConfig {
    /// The gRPC listen address built from `address` and `port`.
    pub fn listen_addr(&self) -> Result<SocketAddr, String> {
        let host = self.address.trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr = host
            .parse()
            .map_err(|_| format!("server.address: '{}' is not an IP address", self.address))?;
        Ok(SocketAddr::new(ip, self.port))
    }

    /// Rejects keys whose feature does not exist yet, so that a setting is never silently
    /// ignored: `enable_tls: true` would otherwise serve plaintext.
    pub fn check_available(&self) -> Result<(), String> {
        if self.enable_tls {
            return Err("server.enable_tls: TLS is not available yet; \
                 set it to false (or remove it) and terminate TLS in front of the server"
                .into());
        }
        Ok(())
    }

    /// Keys that parse but are not enforced yet and differ from their default, each with
    /// what is ignored; [`crate::server::ServerBuilder::serve`] logs them as warnings.
    pub fn unenforced_keys(&self) -> Vec<(&'static str, String)> {
        let mut keys = Vec::new();
        let default_min_time = ServerKeepAlive::default().min_time;
        if self.keep_alive.min_time != default_min_time {
            keys.push((
                "server.keep_alive.min_time",
                humantime::format_duration(self.keep_alive.min_time).to_string(),
            ));
        }
        keys
    }
}

impl Config {
    /// Checks cross-field rules that serde cannot express.
    pub fn validate(&self) -> Result<(), String> {
        self.server.listen_addr()?;
        self.server.check_available()?;
        if self.server.max_recv_size == 0 {
            return Err("server.max_recv_size: must be greater than 0".into());
        }
        if self.server.max_send_size == 0 {
            return Err("server.max_send_size: must be greater than 0".into());
        }
        if self.server.max_concurrent_streams == 0 {
            return Err("server.max_concurrent_streams: must be greater than 0".into());
        }
        if self.server.services.is_empty() {
            return Err("server.services: at least one of user, order".into());
        }
        if self.server.services == [ServiceName::Order] && self.server.user_service.is_empty() {
            return Err("server.user_service: required when serving only the order service".into());
        }
        self.check_split_mode_key()?;
        self.client.validate()?;
        self.middleware.audit.validate()?;
        if self.database.max_connections == 0 {
            return Err("database.max_connections: must be greater than 0".into());
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return Err(format!(
                "database.url: unsupported scheme in '{}' (use sqlite://FILE or postgres://...)",
                self.database.url
            ));
        }
        if self.events.buffer == 0 {
            return Err("events.buffer: must be greater than 0".into());
        }
        self.telemetry.validate()?;
        self.log.validate()?;
        if self.logistics.interval.is_zero() {
            return Err("logistics.interval: must be greater than 0".into());
        }
        Ok(())
    }
}
