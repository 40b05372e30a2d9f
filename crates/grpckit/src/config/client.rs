//! The parts of the `client:` section that go beyond the original schema: endpoints, retry
//! policy details (codes, idempotent methods, budget), outlier detection, circuit breaking and
//! health probing. Used by [`crate::client::ClientBuilder`].

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tonic::Code;

use super::ClientConfig;

/// One entry of `client.endpoints`: `"HOST:PORT"`, `"http://HOST:PORT"`, `"dns://NAME:PORT"`
/// (re-resolved every `dns_refresh_interval`, one endpoint per address, e.g. a Kubernetes
/// headless Service) or `{address: ..., weight: N}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EndpointSpec {
    /// Just the address (weight 1).
    Address(String),
    /// Address with a static weight for `weighted_round_robin`.
    Weighted {
        /// The address.
        address: String,
        /// Relative weight (1..=1000). Default `1`.
        #[serde(default = "one")]
        weight: u32,
    },
}

fn one() -> u32 {
    1
}

impl EndpointSpec {
    /// The address part.
    pub fn address(&self) -> &str {
        match self {
            Self::Address(a) | Self::Weighted { address: a, .. } => a,
        }
    }

    /// The weight (1 when not given).
    pub fn weight(&self) -> u32 {
        match self {
            Self::Address(_) => 1,
            Self::Weighted { weight, .. } => *weight,
        }
    }
}

/// A gRPC status code written by name in config (`UNAVAILABLE` or `unavailable`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeName(pub Code);

impl CodeName {
    /// Parses a canonical code name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        (0..=16)
            .map(Code::from_i32)
            .find(|c| crate::error::code_name(*c).eq_ignore_ascii_case(s.trim()))
            .map(Self)
    }
}

impl Serialize for CodeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(crate::error::code_name(self.0))
    }
}

impl<'de> Deserialize<'de> for CodeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown gRPC code '{s}' (expected a name like UNAVAILABLE)"
            ))
        })
    }
}

/// `client.retry.budget:` the retry throttle of gRPC A6 (`retryThrottling`): a token bucket
/// that loses 1 token per failed attempt and gains `token_ratio` per success; retries are
/// allowed only while more than half of `max_tokens` remain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetryBudgetConfig {
    /// Bucket size (1..=1000). Default `10`.
    pub max_tokens: u32,
    /// Tokens regained per successful call (0 < r <= 1). Default `0.1`.
    pub token_ratio: f64,
}

impl Default for RetryBudgetConfig {
    fn default() -> Self {
        Self {
            max_tokens: 10,
            token_ratio: 0.1,
        }
    }
}

/// `client.outlier_detection:` ejects an endpoint after consecutive failures (or a connect
/// error) for a back-off period that doubles on each ejection; after it the endpoint gets one
/// probe call (half-open).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutlierDetectionConfig {
    /// Turn ejection on. Default `true`.
    pub enabled: bool,
    /// Consecutive failures that eject. Default `5`.
    pub consecutive_failures: u32,
    /// Failure ratio over `interval` that ejects (0 = off). Default `0` (off).
    pub failure_ratio: f64,
    /// Calls needed in `interval` before `failure_ratio` applies. Default `20`.
    pub min_requests: u32,
    /// Window of the failure ratio. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// First ejection time. Default `1s`.
    #[serde(with = "humantime_serde")]
    pub base_ejection_time: Duration,
    /// Longest ejection time. Default `30s`.
    #[serde(with = "humantime_serde")]
    pub max_ejection_time: Duration,
}

impl Default for OutlierDetectionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            consecutive_failures: 5,
            failure_ratio: 0.0,
            min_requests: 20,
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(1),
            max_ejection_time: Duration::from_secs(30),
        }
    }
}

/// `client.circuit_breaker:` the per-client breaker: when the ratio of failed calls (after
/// retries) in `interval` reaches `failure_ratio`, calls fail fast with `UNAVAILABLE` for
/// `open_time`, then one probe call decides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Turn the breaker on. Default `true`.
    pub enabled: bool,
    /// Failure ratio that opens (0 < r <= 1). Default `0.5`.
    pub failure_ratio: f64,
    /// Calls needed in `interval` before the ratio applies. Default `20`.
    pub min_requests: u32,
    /// Window. Default `10s`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long the breaker stays open before a probe. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub open_time: Duration,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            failure_ratio: 0.5,
            min_requests: 20,
            interval: Duration::from_secs(10),
            open_time: Duration::from_secs(5),
        }
    }
}

/// `client.health_check:` active probing with `grpc.health.v1.Health/Check`; `NOT_SERVING`
/// (or no answer) ejects the endpoint until a probe says `SERVING`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Turn probing on. Default `false`.
    pub enabled: bool,
    /// Service name asked for (empty = whole server). Default empty.
    pub service: String,
    /// Time between probes. Default `5s`.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// Probe deadline. Default `1s`.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            service: String::new(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(1),
        }
    }
}

/// The default retryable codes: `UNAVAILABLE` only.
pub fn default_retryable_codes() -> Vec<CodeName> {
    vec![CodeName(Code::Unavailable)]
}

use super::InvalidValue;

impl ClientConfig {
    /// Range checks of the client section (called by `Config::validate`).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        let r = &self.retry;
        if r.max_attempts == 0 || r.max_attempts > 10 {
            return Err(InvalidValue::new(
                "client.retry.max_attempts",
                "must be between 1 and 10",
            ));
        }
        if r.initial_backoff > r.max_backoff {
            return Err(InvalidValue::new(
                "client.retry.initial_backoff",
                "must not exceed max_backoff",
            ));
        }
        if r.backoff_multiplier < 1.0 {
            return Err(InvalidValue::new(
                "client.retry.backoff_multiplier",
                "must be at least 1",
            ));
        }
        if r.budget.max_tokens == 0 || r.budget.max_tokens > 1000 {
            return Err(InvalidValue::new(
                "client.retry.budget.max_tokens",
                "must be between 1 and 1000",
            ));
        }
        if !(r.budget.token_ratio > 0.0 && r.budget.token_ratio <= 1.0) {
            return Err(InvalidValue::new(
                "client.retry.budget.token_ratio",
                "must be in (0, 1]",
            ));
        }
        if self.connections_per_endpoint == 0 || self.connections_per_endpoint > 64 {
            return Err(InvalidValue::new(
                "client.connections_per_endpoint",
                "must be between 1 and 64",
            ));
        }
        if self.dns_refresh_interval.is_zero() {
            return Err(InvalidValue::new(
                "client.dns_refresh_interval",
                "must be greater than 0",
            ));
        }
        for (i, e) in self.endpoints.iter().enumerate() {
            if e.address().trim().is_empty() {
                return Err(InvalidValue::new(
                    format!("client.endpoints[{i}]"),
                    "empty address",
                ));
            }
            if e.weight() == 0 || e.weight() > 1000 {
                return Err(InvalidValue::new(
                    format!("client.endpoints[{i}].weight"),
                    "must be between 1 and 1000",
                ));
            }
        }
        for (i, p) in r.idempotent_methods.iter().enumerate() {
            if let Err(e) = super::MethodPattern::parse(p.trim()) {
                return Err(InvalidValue::new(
                    format!("client.retry.idempotent_methods[{i}]"),
                    e.to_string(),
                ));
            }
        }
        let o = &self.outlier_detection;
        if !(0.0..=1.0).contains(&o.failure_ratio) {
            return Err(InvalidValue::new(
                "client.outlier_detection.failure_ratio",
                "must be in [0, 1]",
            ));
        }
        if o.base_ejection_time > o.max_ejection_time {
            return Err(InvalidValue::new(
                "client.outlier_detection.base_ejection_time",
                "must not exceed max_ejection_time",
            ));
        }
        let b = &self.circuit_breaker;
        if !(b.failure_ratio > 0.0 && b.failure_ratio <= 1.0) {
            return Err(InvalidValue::new(
                "client.circuit_breaker.failure_ratio",
                "must be in (0, 1]",
            ));
        }
        if let Some(tls) = &self.tls {
            tls.validate()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_extended_client_section() {
        let yaml = r#"
client:
  load_balancing_policy: weighted_round_robin
  endpoints: ["127.0.0.1:1", {address: "127.0.0.1:2", weight: 3}, "dns://users:9090"]
  retry:
    retryable_codes: [UNAVAILABLE, resource_exhausted]
    idempotent_methods: ["/user.v1.UserService/Get*"]
    budget: {max_tokens: 20, token_ratio: 0.2}
"#;
        let cfg = crate::config::parse_yaml(yaml).expect("valid");
        assert_eq!(cfg.client.endpoints.len(), 3);
        assert_eq!(cfg.client.endpoints[1].weight(), 3);
        assert_eq!(
            cfg.client.retry.retryable_codes[1],
            CodeName(Code::ResourceExhausted)
        );
        assert_eq!(cfg.client.retry.budget.max_tokens, 20);
    }

    #[test]
    fn bad_code_names_the_key() {
        let err = crate::config::parse_yaml("client:\n  retry:\n    retryable_codes: [NOPE]\n")
            .expect_err("invalid");
        let msg = err.to_string();
        assert!(msg.contains("client.retry.retryable_codes"), "{msg}");
    }

    #[test]
    fn zero_weight_is_rejected() {
        let cfg = ClientConfig {
            endpoints: vec![EndpointSpec::Weighted {
                address: "a:1".into(),
                weight: 0,
            }],
            ..ClientConfig::default()
        };
        assert!(cfg.validate().unwrap_err().key.ends_with("weight"));
    }

    #[test]
    fn idempotent_methods_use_the_method_pattern_grammar() {
        let mut cfg = ClientConfig::default();
        cfg.retry.idempotent_methods = vec!["/a.A/Get*".into(), "*/List*".into()];
        assert_eq!(cfg.validate(), Ok(()));
        cfg.retry.idempotent_methods.push("/a.A/B/C".into());
        let e = cfg.validate().unwrap_err();
        assert_eq!(e.key, "client.retry.idempotent_methods[2]");
        assert!(e.reason.contains("more than one '/'"), "{e}");
    }
}
