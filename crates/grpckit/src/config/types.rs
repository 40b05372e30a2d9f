//! The framework's configuration types. Every struct denies unknown fields; every field has
//! a default. An application's own sections live in its own config type, which embeds these
//! sections (the reference services: `grpckit_services::config::AppConfig`).

use std::{net::SocketAddr, time::Duration};

use serde::{Deserialize, Serialize};

use super::InvalidValue;
pub use super::runtime::RuntimeFlavor;

/// The framework's whole configuration file: the sections every grpckit server reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Listener and HTTP/2 settings.
    pub server: ServerConfig,
    /// Settings of the framework's gRPC client (service-to-service, CLI).
    pub client: ClientConfig,
    /// Logging.
    pub log: LogConfig,
    /// The interceptor chain.
    pub middleware: super::middleware::MiddlewareConfig,
    /// Metrics and tracing.
    pub telemetry: super::TelemetryConfig,
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
    /// TLS on the gRPC port with `tls` (its `cert_file` and `key_file` are then required).
    /// Default `false`.
    pub enable_tls: bool,
    /// The gRPC port's certificate, key and client certificate checks
    /// ([`super::ServerTlsConfig`]).
    pub tls: super::ServerTlsConfig,
    /// TLS on the admin port ([`super::AdminTlsConfig`]); optional: without it the admin
    /// port is plain HTTP.
    pub admin_tls: super::AdminTlsConfig,
    /// `proxy_protocol:` load balancers that send a PROXY protocol header naming the client.
    pub proxy_protocol: super::ProxyProtocolConfig,
    /// `debug:` CPU profile, task counts and open connections on the admin port, for an
    /// authenticated admin ([`super::DebugConfig`]). Off by default.
    pub debug: super::DebugConfig,
    /// `http:` REST/JSON, gRPC-Web and Connect on the gRPC port, OpenAPI and CORS.
    pub http: super::HttpBridgeConfig,
    /// Largest accepted message in bytes. Default `4194304` (4 MiB).
    pub max_recv_size: usize,
    /// Largest sent message in bytes. Default `4194304` (4 MiB).
    pub max_send_size: usize,
    /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. Default `1000`.
    pub max_concurrent_streams: u32,
    /// HTTP/2 keep-alive.
    pub keep_alive: ServerKeepAlive,
    /// HTTP/2 limits: windows, frame and header sizes, reset and control-frame floods
    /// ([`super::Http2Config`]).
    pub http2: super::Http2Config,
    /// A connection must finish its TLS handshake (with TLS) and then its HTTP/2 preface
    /// and first SETTINGS frame within this of being accepted, else it is closed
    /// (slowloris). An HTTP/2 connection past its handshake may then stay idle without a
    /// call (gRPC clients keep one ready). On HTTP/1.1 every request's headers must arrive
    /// within this of the server waiting for them (hyper's header read timeout), so an idle
    /// HTTP/1.1 keep-alive connection is closed after it too. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// How long in-flight calls may take to finish after SIGTERM. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// How long health reports `NOT_SERVING` before the server stops accepting, so load
    /// balancers see it first (see `# Shutdown` on `ServerBuilder::run`). Default `0s`.
    #[serde(with = "humantime_serde")]
    pub drain_delay: Duration,
    /// A connection older than this gets GOAWAY (its open calls may finish), so clients
    /// reconnect and long-lived connections spread again behind a load balancer. Default
    /// none (`~`): connections live as long as the client keeps them.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Option<Duration>,
    /// How long the calls of a connection past `max_connection_age` may still run before
    /// the connection is closed. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub max_connection_age_grace: Duration,
    /// Open connections the gRPC port holds at most (all `thread_per_core` threads
    /// together); one more is closed as soon as it is accepted. `0`: no cap. Default
    /// `20000`.
    pub max_connections: usize,
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
            tls: Default::default(),
            admin_tls: Default::default(),
            proxy_protocol: Default::default(),
            debug: Default::default(),
            http: Default::default(),
            max_recv_size: 4 * 1024 * 1024,
            max_send_size: 4 * 1024 * 1024,
            max_concurrent_streams: 1000,
            keep_alive: ServerKeepAlive::default(),
            http2: Default::default(),
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            drain_delay: Duration::ZERO,
            max_connection_age: None,
            max_connection_age_grace: Duration::from_secs(10),
            max_connections: 20_000,
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
    /// Minimum interval a client may send PINGs at, enforced as grpc-go does: a PING sooner
    /// than this after the previous one is a strike (strikes reset when the server sends
    /// HEADERS or DATA); the third strike gets GOAWAY `ENHANCE_YOUR_CALM`
    /// (`too_many_pings`) and the connection is closed. Default `30s`.
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
    /// TLS (and mutual TLS) to the endpoints; absent = plaintext except `https://`
    /// endpoints. Default none.
    pub tls: Option<super::ClientTlsConfig>,
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
            tls: None,
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
    /// Methods safe to send twice, as [`super::MethodPattern`]s (`/pkg.Service/Method`,
    /// `/pkg.Service/*`, `/pkg.Service/Get*`, `*`; the leading `/` is optional), besides the
    /// methods whose registered descriptor says `idempotency_level = NO_SIDE_EFFECTS` or
    /// `IDEMPOTENT`. Others are retried only when the request surely never left the client.
    /// Default empty.
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
    pub fn listen_addr(&self) -> Result<SocketAddr, InvalidValue> {
        let host = self.address.trim_start_matches('[').trim_end_matches(']');
        let ip: std::net::IpAddr = host.parse().map_err(|_| {
            InvalidValue::new(
                "server.address",
                format!("'{}' is not an IP address", self.address),
            )
        })?;
        Ok(SocketAddr::new(ip, self.port))
    }

    /// Rejects keys whose feature does not exist yet, so that a setting is never silently
    /// ignored, a TLS section that cannot work (`enable_tls: true` without a certificate
    /// or key, `admin_tls` with only one of them), and HTTP/2 limits hyper and h2 cannot
    /// take (a config built in code skips [`ServerConfig::validate`]; h2 would panic on a
    /// frame size out of range).
    pub fn check_available(&self) -> Result<(), String> {
        self.unavailable()
            .map_or(Ok(()), Err)
            .and_then(|()| self.tls.validate(self.enable_tls))
            .and_then(|()| self.check_connection_limits())
            .map_err(|e| e.to_string())
    }

    /// `server.http2` ranges and `server.handshake_timeout`.
    fn check_connection_limits(&self) -> Result<(), InvalidValue> {
        self.http2.validate()?;
        if self.handshake_timeout.is_zero() {
            return Err(InvalidValue::new(
                "server.handshake_timeout",
                "must be greater than 0s",
            ));
        }
        Ok(())
    }

    fn unavailable(&self) -> Option<InvalidValue> {
        self.admin_tls.validate().err()
    }

    /// Keys that parse but are not enforced yet and differ from their default, each with
    /// what is ignored; [`crate::server::ServerBuilder::serve`] logs them as warnings.
    pub fn unenforced_keys(&self) -> Vec<(&'static str, String)> {
        // Every `server:` key is enforced today; a key added before its feature is listed
        // here with its value.
        Vec::new()
    }

    /// Checks the `server:` section.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.listen_addr()?;
        if let Some(e) = self.unavailable() {
            return Err(e);
        }
        self.tls.validate(self.enable_tls)?;
        self.check_connection_limits()?;
        self.debug.validate()?;
        for (key, value) in [
            ("server.max_recv_size", self.max_recv_size),
            ("server.max_send_size", self.max_send_size),
            (
                "server.max_concurrent_streams",
                usize::try_from(self.max_concurrent_streams).unwrap_or(usize::MAX),
            ),
        ] {
            if value == 0 {
                return Err(InvalidValue::new(key, "must be greater than 0"));
            }
        }
        Ok(())
    }
}

impl Config {
    /// Checks rules serde cannot express (ranges, cross-field rules), section by section.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.server.validate()?;
        self.client.validate()?;
        self.middleware.validate()?;
        self.telemetry.validate()?;
        self.log.validate()
    }
}
