//! The reference app's own sections: which services a process serves, storage, token
//! issuing, the event bus and the logistics simulator.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which reference services a process serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceName {
    /// `user.v1.UserService`
    User,
    /// `order.v1.OrderService`
    Order,
}

impl ServiceName {
    /// `user` or `order`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Order => "order",
        }
    }
}

/// A service name that is neither `user` nor `order`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service '{0}' (expected user or order)")]
pub struct UnknownService(pub String);

impl std::str::FromStr for ServiceName {
    type Err = UnknownService;

    fn from_str(s: &str) -> Result<Self, UnknownService> {
        match s.trim() {
            "user" => Ok(Self::User),
            "order" => Ok(Self::Order),
            other => Err(UnknownService(other.to_owned())),
        }
    }
}

/// `services:` section (earlier `server.services` and `server.user_service`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServicesConfig {
    /// Services served by this process (`--services`, `GRPCKIT_SERVICES`). Default both.
    pub serve: Vec<ServiceName>,
    /// Address of UserService when this process serves only OrderService
    /// (e.g. `http://127.0.0.1:9090`; `--user-service`, `GRPCKIT_USER_SERVICE`). Empty =
    /// in-process.
    pub user_service: String,
}

impl Default for ServicesConfig {
    fn default() -> Self {
        Self {
            serve: vec![ServiceName::User, ServiceName::Order],
            user_service: String::new(),
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

/// `auth:` section: issuing the tokens `Login` returns and bootstrapping an admin. The
/// framework verifies tokens with `middleware.auth`, which defaults its issuer and audience
/// and accepts `Login` tokens from these values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// HS256 secret for tokens issued by `Login` (env `GRPCKIT_JWT_SECRET`). Empty: a random
    /// secret is generated at start and tokens do not survive a restart. Required in split
    /// mode (see [`super::AppConfig::split_mode`]).
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
