//! `middleware:` section: the interceptor chain (recover, log, auth, rate limit, timeout,
//! validate, audit). Every part has `enabled` and defaults that work with zero config.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

/// `middleware:` section.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MiddlewareConfig {
    /// Master switch. `false` serves with NO layers at all (benchmark baseline). Default `true`.
    pub enabled: bool,
    /// Panic recovery.
    pub recover: RecoverConfig,
    /// Access log and request ids.
    pub log: AccessLogConfig,
    /// Authentication and authorization.
    pub auth: AuthnConfig,
    /// Rate limits and load shedding.
    pub rate_limit: RateLimitConfig,
    /// Deadlines.
    pub timeout: TimeoutConfig,
    /// `buf.validate` request validation.
    pub validate: ValidateConfig,
    /// Audit trail of mutating calls.
    pub audit: AuditConfig,
}

impl Default for MiddlewareConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            recover: RecoverConfig::default(),
            log: AccessLogConfig::default(),
            auth: AuthnConfig::default(),
            rate_limit: RateLimitConfig::default(),
            timeout: TimeoutConfig::default(),
            validate: ValidateConfig::default(),
            audit: AuditConfig::default(),
        }
    }
}

/// `middleware.recover:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RecoverConfig {
    /// Default `true`.
    pub enabled: bool,
}

impl Default for RecoverConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// Level of the per-call access line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// `info`
    Info,
    /// `debug`
    Debug,
    /// No line for successful calls (errors are still logged at `info`).
    Off,
}

/// `middleware.log:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccessLogConfig {
    /// Emit access lines and handle `x-request-id`. Default `true`.
    pub enabled: bool,
    /// Level of the line for successful calls (hot-reloadable). Default `info`.
    pub level: AccessLevel,
    /// Method patterns logged at `debug` only. Default health checks.
    pub quiet_methods: Vec<String>,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            level: AccessLevel::Info,
            quiet_methods: vec!["grpc.health.v1.Health/*".into()],
        }
    }
}

/// `middleware.auth:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthnConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Methods callable without credentials. Default Login, CreateUser, health, reflection.
    pub public_methods: Vec<String>,
    /// JWT bearer tokens.
    pub jwt: JwtConfig,
    /// API keys (`x-api-key`).
    pub api_keys: Vec<ApiKeyConfig>,
    /// Role -> allowed method patterns. Default: see [`RoleRule::defaults`].
    pub roles: Vec<RoleRule>,
    /// Verified tokens cached (by hash) to skip signature checks. Default `10000`; `0` off.
    pub token_cache_size: usize,
}

impl Default for AuthnConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            public_methods: vec![
                "user.v1.UserService/Login".into(),
                "user.v1.UserService/CreateUser".into(),
                "grpc.health.v1.Health/*".into(),
                "grpc.reflection.*".into(),
            ],
            jwt: JwtConfig::default(),
            api_keys: Vec::new(),
            roles: RoleRule::defaults(),
            token_cache_size: 10_000,
        }
    }
}

/// `middleware.auth.jwt:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// Accept tokens signed with `auth.jwt_secret` (HS256, no `kid`) as issued by `Login`.
    /// Default `true`.
    pub accept_login_tokens: bool,
    /// Extra keys, selected by `kid`.
    pub keys: Vec<JwtKeyConfig>,
    /// A JWKS file (`{"keys": [...]}`); each key needs a `kid`.
    pub jwks_file: Option<PathBuf>,
    /// Required `iss`. Default: `auth.issuer`. Empty string: not checked.
    pub issuer: Option<String>,
    /// Required `aud`. Default: `auth.audience`. Empty string: not checked.
    pub audience: Option<String>,
    /// Clock skew allowed on exp/nbf. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            accept_login_tokens: true,
            keys: Vec::new(),
            jwks_file: None,
            issuer: None,
            audience: None,
            leeway: Duration::from_secs(30),
        }
    }
}

/// Signature algorithm of a key (never taken from the token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum JwtAlgorithm {
    /// HMAC-SHA256.
    HS256,
    /// RSA PKCS#1 v1.5 SHA-256.
    RS256,
    /// ECDSA P-256 SHA-256.
    ES256,
}

/// One verification key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JwtKeyConfig {
    /// Key id matched against the token header's `kid`.
    pub kid: String,
    /// Algorithm.
    pub algorithm: JwtAlgorithm,
    /// HS256 secret (inline).
    #[serde(default)]
    pub secret: Option<String>,
    /// PEM public key file (RS256/ES256) or a file holding the HS256 secret.
    #[serde(default)]
    pub file: Option<PathBuf>,
}

/// One API key, stored as the hex SHA-256 of the key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Name (the principal's subject), e.g. `order-service`.
    pub name: String,
    /// `sha256(key)` in hex (`printf %s KEY | sha256sum`).
    pub sha256: String,
    /// Roles granted.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// Role -> allowed methods (`*`, `pkg.Service/*`, `pkg.Service/Method`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// Role name.
    pub role: String,
    /// Allowed method patterns.
    pub allow: Vec<String>,
}

impl RoleRule {
    /// The default rules: `admin` and `service` may call everything; `support` reads orders,
    /// users and chats; `user` calls its own user and order methods (ownership enforced by
    /// the handlers) and bulk sign-up, but not `ListUsers`.
    pub fn defaults() -> Vec<Self> {
        let r = |role: &str, allow: &[&str]| Self {
            role: role.into(),
            allow: allow.iter().map(|s| (*s).to_owned()).collect(),
        };
        vec![
            r("admin", &["*"]),
            r("service", &["*"]),
            r(
                "support",
                &[
                    "user.v1.UserService/GetUser",
                    "user.v1.UserService/ListUsers",
                    "order.v1.OrderService/GetOrder",
                    "order.v1.OrderService/ListOrders",
                    "order.v1.OrderService/TrackOrder",
                    "order.v1.OrderService/Chat",
                ],
            ),
            r(
                "user",
                &[
                    "user.v1.UserService/GetUser",
                    "user.v1.UserService/UpdateUser",
                    "user.v1.UserService/DeleteUser",
                    "user.v1.UserService/StreamUserActivity",
                    "user.v1.UserService/BatchCreateUsers",
                    "order.v1.OrderService/*",
                ],
            ),
        ]
    }
}

/// `middleware.rate_limit:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Default `true` (with no rules nothing is limited).
    pub enabled: bool,
    /// Rules; the first whose pattern matches a method applies.
    pub rules: Vec<RateRule>,
    /// Cluster-wide limits through Redis.
    pub redis: RedisLimitConfig,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            rules: Vec::new(),
            redis: RedisLimitConfig::default(),
        }
    }
}

/// One rate rule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateRule {
    /// Method pattern.
    pub methods: String,
    /// Sustained calls per second per principal (peer IP when anonymous). `0`: no bucket.
    #[serde(default)]
    pub per_second: u32,
    /// Bucket size. Default = `per_second`.
    #[serde(default)]
    pub burst: u32,
    /// Calls per `cluster_window` per principal shared by all instances through Redis.
    #[serde(default)]
    pub cluster_limit: u32,
    /// Window of `cluster_limit`. Default `1s`.
    #[serde(default = "one_second", with = "humantime_serde")]
    pub cluster_window: Duration,
    /// Calls in flight for the matching methods (per instance); over it -> shed.
    #[serde(default)]
    pub max_concurrent: u32,
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

/// `middleware.rate_limit.redis:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RedisLimitConfig {
    /// Default `redis://127.0.0.1:6379`.
    pub url: String,
    /// Key prefix. Default `grpckit:rl`.
    pub prefix: String,
    /// Allow calls when Redis is unreachable. Default `true`.
    pub fail_open: bool,
    /// Per-operation timeout. Default `50ms`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for RedisLimitConfig {
    fn default() -> Self {
        Self {
            url: "redis://127.0.0.1:6379".into(),
            prefix: "grpckit:rl".into(),
            fail_open: true,
            timeout: Duration::from_millis(50),
        }
    }
}

/// `middleware.timeout:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TimeoutConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Deadline of unary calls without a shorter `grpc-timeout`. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub default: Duration,
    /// Per-method overrides, first match wins.
    pub methods: Vec<MethodTimeout>,
    /// Longest lifetime of a streaming call (`0s` = unlimited). Default `0s`.
    #[serde(with = "humantime_serde")]
    pub stream_max_duration: Duration,
    /// A response stream that sends nothing for this long is ended (`0s` = never). Default `0s`.
    #[serde(with = "humantime_serde")]
    pub stream_idle_timeout: Duration,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            default: Duration::from_secs(30),
            methods: Vec::new(),
            stream_max_duration: Duration::ZERO,
            stream_idle_timeout: Duration::ZERO,
        }
    }
}

/// A per-method deadline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MethodTimeout {
    /// Method pattern.
    pub methods: String,
    /// Deadline.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

/// `middleware.validate:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ValidateConfig {
    /// Default `true`.
    pub enabled: bool,
}

impl Default for ValidateConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// `middleware.audit:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Default `true`.
    pub enabled: bool,
    /// JSON lines file. Default `audit.log`.
    pub file: PathBuf,
    /// Extra method patterns audited besides the mutating ones and stream opens.
    pub extra_methods: Vec<String>,
    /// Records buffered before writes are counted as dropped. Default `10000`.
    pub buffer: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            file: "audit.log".into(),
            extra_methods: Vec::new(),
            buffer: 10_000,
        }
    }
}
