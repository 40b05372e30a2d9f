//! Retries per gRPC A6 ("gRPC Retry Design"): only configured codes, exponential back-off
//! with full jitter (`random(0, min(initial * multiplier^(n-1), max))`), at most
//! `max_attempts`, never after response headers, `grpc-retry-pushback-ms` honoured, and a
//! token-bucket throttle ([`Budget`]). Only methods configured as idempotent are retried once
//! the request may have reached a server; a request that surely never left the client
//! (connect error, refused stream) may always go to another endpoint.

mod body;
mod budget;

pub(crate) use body::RequestBody;
pub(crate) use budget::Budget;

use rand::Rng;
use tokio::time::Duration;
use tonic::Code;

use crate::config::{MethodPattern, RetryConfig};

/// The validated retry policy.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub(crate) max_attempts: u32,
    initial: Duration,
    max: Duration,
    multiplier: f64,
    codes: Vec<Code>,
    idempotent: Vec<MethodPattern>,
    pub(crate) max_buffer: usize,
}

// === impl RetryPolicy ===

impl RetryPolicy {
    pub(crate) fn new(cfg: &RetryConfig) -> Self {
        Self {
            max_attempts: cfg.max_attempts.max(1),
            initial: cfg.initial_backoff,
            max: cfg.max_backoff,
            multiplier: cfg.backoff_multiplier.max(1.0),
            codes: cfg.retryable_codes.iter().map(|c| c.0).collect(),
            idempotent: cfg
                .idempotent_methods
                .iter()
                // Invalid patterns were refused by `ClientConfig::validate`.
                .filter_map(|p| MethodPattern::parse(p.trim()).ok())
                .collect(),
            max_buffer: cfg.max_buffer_bytes,
        }
    }

    /// Whether `path` (`/pkg.Service/Method`) may be sent twice: it matches
    /// `retry.idempotent_methods`, or its descriptor (registered with the server builder or
    /// [`crate::client::register_descriptor_set`]) marks it idempotent: `idempotent` of its
    /// `grpckit.v1.policy` option, which defaults to `idempotency_level = NO_SIDE_EFFECTS`
    /// or `IDEMPOTENT`.
    pub(crate) fn is_idempotent(&self, path: &str) -> bool {
        self.idempotent.iter().any(|p| p.matches(path))
            || crate::telemetry::metrics::lookup(path).idempotent
    }

    /// Whether a status code is retryable.
    pub(crate) fn is_retryable(&self, code: Code) -> bool {
        self.codes.contains(&code)
    }

    /// The longest back-off before retry number `retry` (1 = the first retry).
    pub(crate) fn backoff_cap(&self, retry: u32) -> Duration {
        let exp = self.multiplier.powi(retry.saturating_sub(1).min(64) as i32);
        let secs = (self.initial.as_secs_f64() * exp).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The jittered back-off before retry number `retry`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let cap = self.backoff_cap(retry);
        if cap.is_zero() {
            return cap;
        }
        Duration::from_secs_f64(rand::rng().random_range(0.0..=cap.as_secs_f64()))
    }
}

/// What `grpc-retry-pushback-ms` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushback {
    /// No header: use the back-off.
    None,
    /// Wait exactly this long.
    After(Duration),
    /// Negative or malformed: the server asks not to retry.
    Stop,
}

/// Reads `grpc-retry-pushback-ms` from response headers.
pub(crate) fn pushback(headers: &http::HeaderMap) -> Pushback {
    match headers.get("grpc-retry-pushback-ms") {
        None => Pushback::None,
        Some(v) => match v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()) {
            Some(ms) if ms >= 0 => Pushback::After(Duration::from_millis(ms as u64)),
            _ => Pushback::Stop,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        let cfg = RetryConfig {
            idempotent_methods: vec!["/a.A/Get*".into(), "/b.B/Create".into()],
            ..RetryConfig::default()
        };
        RetryPolicy::new(&cfg)
    }

    #[test]
    fn method_patterns() {
        let p = policy();
        assert!(p.is_idempotent("/a.A/GetUser"));
        assert!(p.is_idempotent("/b.B/Create"));
        assert!(!p.is_idempotent("/b.B/CreateMany"));
        assert!(!p.is_idempotent("/a.A/Delete"));
    }

    #[test]
    fn methods_declared_side_effect_free_or_idempotent_are_retried_without_patterns() {
        use prost::Message;
        use prost_types::{
            FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto, MethodOptions,
            ServiceDescriptorProto, method_options::IdempotencyLevel,
        };
        let method = |name: &str, level: Option<IdempotencyLevel>| MethodDescriptorProto {
            name: Some(name.into()),
            input_type: Some(".google.protobuf.Empty".into()),
            output_type: Some(".google.protobuf.Empty".into()),
            options: level.map(|l| MethodOptions {
                idempotency_level: Some(l as i32),
                ..Default::default()
            }),
            ..Default::default()
        };
        let set = FileDescriptorSet {
            file: vec![FileDescriptorProto {
                name: Some("retry_idempotency_test.proto".into()),
                package: Some("retrytest".into()),
                service: vec![ServiceDescriptorProto {
                    name: Some("S".into()),
                    method: vec![
                        method("Read", Some(IdempotencyLevel::NoSideEffects)),
                        method("Put", Some(IdempotencyLevel::Idempotent)),
                        method("Send", None),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let bytes: &'static [u8] = Box::leak(set.encode_to_vec().into_boxed_slice());
        crate::client::register_descriptor_set(bytes);
        let p = RetryPolicy::new(&RetryConfig::default());
        assert!(p.is_idempotent("/retrytest.S/Read"));
        assert!(p.is_idempotent("/retrytest.S/Put"));
        assert!(!p.is_idempotent("/retrytest.S/Send"));
    }

    #[test]
    fn the_policy_option_decides_over_idempotency_level() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
        std::fs::write(
            dir.path().join("retry_policy_test.proto"),
            r#"syntax = "proto3";
package retrypolicy;
import "grpckit/v1/policy.proto";
message M {}
service S {
  rpc Level(M) returns (M) {
    option idempotency_level = IDEMPOTENT;
    option (grpckit.v1.policy) = {idempotent: false};
  }
  rpc Declared(M) returns (M) { option (grpckit.v1.policy) = {idempotent: true}; }
  rpc Public(M) returns (M) {
    option idempotency_level = NO_SIDE_EFFECTS;
    option (grpckit.v1.policy) = {public: true};
  }
}
"#,
        )
        .unwrap();
        let mut c = protox::Compiler::new([dir.path(), root.as_path()]).unwrap();
        c.include_imports(true);
        c.open_file("retry_policy_test.proto").unwrap();
        let bytes: &'static [u8] = Box::leak(c.encode_file_descriptor_set().into_boxed_slice());
        crate::client::register_descriptor_set(bytes);
        let p = RetryPolicy::new(&RetryConfig::default());
        assert!(
            !p.is_idempotent("/retrypolicy.S/Level"),
            "declared false wins"
        );
        assert!(p.is_idempotent("/retrypolicy.S/Declared"));
        assert!(
            p.is_idempotent("/retrypolicy.S/Public"),
            "default from the level"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = policy();
        assert_eq!(p.backoff_cap(1), Duration::from_millis(100));
        assert_eq!(p.backoff_cap(2), Duration::from_millis(200));
        assert_eq!(p.backoff_cap(3), Duration::from_millis(400));
        assert_eq!(p.backoff_cap(20), Duration::from_secs(5));
        for r in 1..10 {
            assert!(p.backoff(r) <= p.backoff_cap(r));
        }
    }

    #[test]
    fn default_codes_are_unavailable_only() {
        let p = policy();
        assert!(p.is_retryable(Code::Unavailable));
        assert!(!p.is_retryable(Code::Internal));
        assert!(!p.is_retryable(Code::DeadlineExceeded));
    }

    #[test]
    fn pushback_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(pushback(&h), Pushback::None);
        h.insert("grpc-retry-pushback-ms", "250".parse().expect("value"));
        assert_eq!(pushback(&h), Pushback::After(Duration::from_millis(250)));
        h.insert("grpc-retry-pushback-ms", "-1".parse().expect("value"));
        assert_eq!(pushback(&h), Pushback::Stop);
        h.insert("grpc-retry-pushback-ms", "soon".parse().expect("value"));
        assert_eq!(pushback(&h), Pushback::Stop);
    }
}
