//! `middleware:` section: the interceptor chain (recover, log, IP filter, auth, rate limit,
//! timeout, validate, audit, fault injection). Every part has `enabled` and defaults that work with zero config.

use std::{
    num::{NonZeroU64, NonZeroUsize},
    path::PathBuf,
    time::Duration,
};

use serde::{Deserialize, Serialize};

use super::{
    FaultConfig, InvalidValue, IpFilterConfig, MethodPattern, PolicyConfig, RoleBinding, SwitchRule,
};

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
    /// Client address allow/deny lists (off while it has no list).
    pub ip_filter: IpFilterConfig,
    /// Authentication and authorization.
    pub auth: AuthnConfig,
    /// Rate limits and load shedding.
    pub rate_limit: RateLimitConfig,
    /// Deadlines.
    pub timeout: TimeoutConfig,
    /// `buf.validate` request validation.
    pub validate: ValidateConfig,
    /// Audit trail of the calls in `audit.methods` and of stream opens.
    pub audit: AuditConfig,
    /// Per-method overrides of the policy the `.proto` declares (`grpckit.v1.policy`).
    pub policy: PolicyConfig,
    /// Fault injection (delays, aborts) for testing clients' resilience. Off by default.
    pub fault: FaultConfig,
    /// Built-in parts switched off (or back on) per method pattern (hot-reloadable), e.g.
    /// `{methods: ["/order.v1.OrderService/*"], disable: [audit, rate_limit]}`. Default none.
    pub switches: Vec<SwitchRule>,
}

impl Default for MiddlewareConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            recover: RecoverConfig::default(),
            log: AccessLogConfig::default(),
            ip_filter: IpFilterConfig::default(),
            auth: AuthnConfig::default(),
            rate_limit: RateLimitConfig::default(),
            timeout: TimeoutConfig::default(),
            validate: ValidateConfig::default(),
            audit: AuditConfig::default(),
            policy: PolicyConfig::default(),
            fault: FaultConfig::default(),
            switches: Vec::new(),
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

/// Level of the per-call access line of successful calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessLevel {
    /// `info` (for the sampled share, [`AccessLogConfig::success_sample`]).
    Info,
    /// `debug`
    Debug,
    /// No line for successful calls, except slow ones (errors are still logged at `info`).
    Off,
}

/// A share of calls, from `0.0` (none) to `1.0` (all).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct SampleRate(f64);

impl SampleRate {
    /// Every call.
    pub const ALL: Self = Self(1.0);
    /// No call.
    pub const NONE: Self = Self(0.0);

    /// The rate, when `0.0 <= rate <= 1.0`.
    pub fn new(rate: f64) -> Result<Self, String> {
        if (0.0..=1.0).contains(&rate) {
            Ok(Self(rate))
        } else {
            Err(format!(
                "expected a share from 0 to 1 (0.01 logs 1 call in 100), got {rate}"
            ))
        }
    }

    /// The share as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for SampleRate {
    type Error = String;

    fn try_from(rate: f64) -> Result<Self, String> {
        Self::new(rate)
    }
}

impl From<SampleRate> for f64 {
    fn from(r: SampleRate) -> f64 {
        r.0
    }
}

/// `middleware.log:` the per-call access line. Errors and slow calls always get a line at
/// `info`; successful calls are sampled (a line is about 300 bytes and one of the larger
/// per-call costs of the chain: at 50,000 calls/s, logging all of them writes 15 MB/s).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccessLogConfig {
    /// Emit access lines and handle `x-request-id`. Default `true`.
    pub enabled: bool,
    /// Level of the line for sampled successful calls (hot-reloadable). Default `info`.
    pub level: AccessLevel,
    /// Share of successful calls logged at `level` (systematic: at `0.01` every 100th call
    /// of each worker thread); the others log at `debug` (shown with `--log-level debug`).
    /// Default `0.01`; `1.0` logs every call.
    pub success_sample: SampleRate,
    /// Successful calls that take at least this long are always logged at `info`, marked
    /// `"slow": true` (a stream's time is its whole life). Default `500ms`; `0s` turns it off.
    #[serde(with = "humantime_serde")]
    pub slow_threshold: Duration,
    /// Method patterns ([`MethodPattern`]) logged at `debug` only. Default health checks.
    pub quiet_methods: Vec<MethodPattern>,
}

impl Default for AccessLogConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            level: AccessLevel::Info,
            success_sample: SampleRate(0.01),
            slow_threshold: Duration::from_millis(500),
            quiet_methods: vec![MethodPattern::service(HEALTH)],
        }
    }
}

/// The gRPC health service, public by default.
const HEALTH: &str = "grpc.health.v1.Health";
/// The reflection services (v1 and v1alpha), public by default.
const REFLECTION: [&str; 2] = [
    "grpc.reflection.v1.ServerReflection",
    "grpc.reflection.v1alpha.ServerReflection",
];

/// `middleware.auth:` verification of the caller's credentials and authorization by method.
/// A caller's roles are those of its token or API key plus those `bindings` give it; a call
/// is allowed when the method is public or one of those roles allows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthnConfig {
    /// Default `true`.
    pub enabled: bool,
    /// Method patterns ([`MethodPattern`]) callable without credentials. Default: the
    /// health and reflection services only.
    pub public_methods: Vec<MethodPattern>,
    /// JWT bearer tokens.
    pub jwt: JwtConfig,
    /// API keys (`x-api-key`).
    pub api_keys: Vec<ApiKeyConfig>,
    /// Role -> allowed method patterns. Default: see [`RoleRule::defaults`].
    pub roles: Vec<RoleRule>,
    /// Principal -> more roles (`{principal: "user:42", roles: [support]}`), added to the
    /// roles of its credentials. Default none.
    pub bindings: Vec<RoleBinding>,
    /// Verified tokens cached (by hash) to skip signature checks. Default `10000`; `0` off.
    pub token_cache_size: usize,
}

impl Default for AuthnConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            public_methods: std::iter::once(HEALTH)
                .chain(REFLECTION)
                .map(MethodPattern::service)
                .collect(),
            jwt: JwtConfig::default(),
            api_keys: Vec::new(),
            roles: RoleRule::defaults(),
            bindings: Vec::new(),
            token_cache_size: 10_000,
        }
    }
}

/// `middleware.auth.jwt:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// Accept tokens signed with the application's login secret
    /// ([`crate::middleware::auth::AuthSecrets`]; the reference server's `auth.jwt_secret`),
    /// HS256 without `kid`. Default `true`.
    pub accept_login_tokens: bool,
    /// Extra keys, selected by `kid`.
    pub keys: Vec<JwtKeyConfig>,
    /// A JWKS file (`{"keys": [...]}`); each key needs a `kid`.
    pub jwks_file: Option<PathBuf>,
    /// Required `iss`. Default: the application's issuer (`AuthSecrets::issuer`; the
    /// reference server's `auth.issuer`). Empty string: not checked.
    pub issuer: Option<String>,
    /// Required `aud`. Default: the application's audience (`AuthSecrets::audience`; the
    /// reference server's `auth.audience`). Empty string: not checked.
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

/// Role -> allowed methods ([`MethodPattern`]s).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// Role name.
    pub role: String,
    /// Allowed method patterns.
    pub allow: Vec<MethodPattern>,
}

impl RoleRule {
    /// A rule: `role` may call the methods `allow` matches.
    pub fn new(role: impl Into<String>, allow: Vec<MethodPattern>) -> Self {
        Self {
            role: role.into(),
            allow,
        }
    }

    /// The framework's default rules: `admin` and `service` (the roles
    /// [`crate::middleware::auth::Principal::is_admin`] knows) may call every method. An
    /// application adds its own roles; any other caller is refused (`PERMISSION_DENIED`)
    /// outside the public methods.
    pub fn defaults() -> Vec<Self> {
        vec![
            Self::new("admin", vec![MethodPattern::any()]),
            Self::new("service", vec![MethodPattern::any()]),
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
    /// Method pattern ([`MethodPattern`]).
    pub methods: MethodPattern,
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
    /// Method pattern ([`MethodPattern`]).
    pub methods: MethodPattern,
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

/// Where audit records go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditSinkKind {
    /// JSON lines on stderr tagged `"stream":"audit"`, to split from the logs downstream
    /// (the default: containers often run with a read-only root filesystem).
    Stderr,
    /// A JSON-lines file rotated by size ([`AuditConfig::file`]).
    File,
}

/// `middleware.audit.file:` the file sink (`sink: file`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditFileConfig {
    /// The file (its folder is created). Default `audit.log`.
    pub path: PathBuf,
    /// Bytes after which the file is rotated to `PATH.1` (older ones to `.2`, ...); a file
    /// ends at a record boundary, so it may pass this by one record. Default `100 MiB`.
    pub max_size: NonZeroU64,
    /// Rotated files kept besides the current one; the oldest is deleted. Default `5`.
    pub max_files: NonZeroUsize,
}

impl Default for AuditFileConfig {
    fn default() -> Self {
        Self {
            path: "audit.log".into(),
            max_size: NonZeroU64::new(100 * 1024 * 1024).unwrap_or(NonZeroU64::MIN),
            max_files: NonZeroUsize::new(5).unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// `middleware.audit:`
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Default `true`.
    pub enabled: bool,
    /// `stderr` (default) or `file`.
    pub sink: AuditSinkKind,
    /// The file sink's path and rotation (only with `sink: file`).
    pub file: AuditFileConfig,
    /// Unary methods audited ([`MethodPattern`]s; every stream open is audited). The
    /// framework audits no unary method by default: an application lists the methods that
    /// change its state (the reference app: see `docs/middleware.md`). The earlier key
    /// `extra_methods` is read as this one.
    #[serde(alias = "extra_methods")]
    pub methods: Vec<MethodPattern>,
    /// Request fields whose value is recorded as the record's `target` (the first present,
    /// non-empty string field of the request, in this order). Default none.
    pub target_fields: Vec<String>,
    /// Records buffered before writes are counted as dropped. Default `10000`.
    pub buffer: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            sink: AuditSinkKind::Stderr,
            file: AuditFileConfig::default(),
            methods: Vec::new(),
            target_fields: Vec::new(),
            buffer: 10_000,
        }
    }
}

impl MiddlewareConfig {
    /// Checks rules serde cannot express.
    pub fn validate(&self) -> Result<(), InvalidValue> {
        self.ip_filter.validate()?;
        if !self.enabled && self.ip_filter.is_configured() {
            // Lists that silently stop refusing would be worse than a start that fails.
            return Err(InvalidValue::new(
                "middleware.ip_filter",
                "has no effect with `middleware.enabled: false` (no layer runs): remove the \
                 lists or enable the middleware",
            ));
        }
        if !self.enabled && !self.switches.is_empty() {
            return Err(InvalidValue::new(
                "middleware.switches",
                "has no effect with `middleware.enabled: false` (no layer runs)",
            ));
        }
        if !self.enabled && self.fault.enabled {
            return Err(InvalidValue::new(
                "middleware.fault.enabled",
                "has no effect with `middleware.enabled: false` (no layer runs)",
            ));
        }
        self.auth.validate()?;
        self.audit.validate()?;
        self.fault.validate()?;
        super::switches::validate(&self.switches)
    }
}

impl AuthnConfig {
    /// Every role a binding grants must be one of `roles` (a typo would grant nothing).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        for (i, b) in self.bindings.iter().enumerate() {
            for (j, role) in b.roles.iter().enumerate() {
                if !self.roles.iter().any(|r| &r.role == role) {
                    return Err(InvalidValue::new(
                        format!("middleware.auth.bindings[{i}].roles[{j}]"),
                        format!("unknown role '{role}' (not in middleware.auth.roles)"),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl AuditConfig {
    /// Rejects a `file:` section that would do nothing (`sink` is not `file`).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.sink != AuditSinkKind::File && self.file != AuditFileConfig::default() {
            return Err(InvalidValue::new(
                "middleware.audit.file",
                "only used with `sink: file` (the audit trail goes to stderr)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_yaml;

    #[test]
    fn log_and_audit_defaults_suit_production() {
        let cfg = MiddlewareConfig::default();
        assert_eq!(cfg.log.success_sample.get(), 0.01);
        assert_eq!(cfg.log.slow_threshold, Duration::from_millis(500));
        assert_eq!(cfg.audit.sink, AuditSinkKind::Stderr);
    }

    #[test]
    fn log_sampling_and_audit_file_parse() {
        let cfg = parse_yaml(
            "middleware:\n  log:\n    success_sample: 1.0\n    slow_threshold: 2s\n  audit:\n    sink: file\n    file:\n      path: /tmp/x/audit.log\n      max_size: 1024\n      max_files: 3\n",
        )
        .unwrap();
        let mw = &cfg.middleware;
        assert_eq!(mw.log.success_sample, SampleRate::ALL);
        assert_eq!(mw.log.slow_threshold, Duration::from_secs(2));
        assert_eq!(mw.audit.sink, AuditSinkKind::File);
        assert_eq!(mw.audit.file.max_size.get(), 1024);
        assert_eq!(mw.audit.file.max_files.get(), 3);
    }

    #[test]
    fn bad_log_and_audit_values_are_named() {
        for (yaml, key) in [
            (
                "middleware:\n  log:\n    success_sample: 2\n",
                "middleware.log.success_sample",
            ),
            (
                "middleware:\n  audit:\n    sink: file\n    file:\n      max_files: 0\n",
                "middleware.audit.file.max_files",
            ),
            (
                "middleware:\n  audit:\n    sink: syslog\n",
                "middleware.audit.sink",
            ),
            (
                "middleware:\n  audit:\n    file:\n      path: a.log\n",
                "middleware.audit.file",
            ),
        ] {
            let err = parse_yaml(yaml).unwrap_err().to_string();
            assert!(err.contains(key), "{yaml}: {err}");
        }
    }
}
