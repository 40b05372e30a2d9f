//! Deadlines: a default per method from config, the caller's `grpc-timeout` honoured (the
//! shorter wins). Handlers read the remaining budget from the [`Deadline`] extension and
//! pass it on to outgoing calls. When it runs out the handler future is dropped (its work
//! is cancelled) and the caller gets `DEADLINE_EXCEEDED`. Streams may get a maximum
//! lifetime and an idle timeout.

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    config::TimeoutConfig, headers::parse_grpc_timeout, middleware::method::MethodPattern,
};

/// The call's deadline, in request extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Instant);

impl Deadline {
    /// Time left (zero when passed).
    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }
}

/// Resolved timeouts (swappable).
#[derive(Debug, Clone)]
pub struct TimeoutState {
    default: Duration,
    rules: Vec<(MethodPattern, Duration)>,
    per_method: Vec<Duration>,
    /// Longest stream lifetime (`None` = unlimited).
    pub stream_max: Option<Duration>,
    /// Idle timeout of response streams.
    pub stream_idle: Option<Duration>,
}

impl TimeoutState {
    /// Resolves the config for the known methods (index order).
    pub fn new(cfg: &TimeoutConfig, methods: &[&str]) -> Self {
        let rules: Vec<_> = cfg
            .methods
            .iter()
            .map(|m| (m.methods.clone(), m.timeout))
            .collect();
        let pick = |name: &str| {
            rules
                .iter()
                .find(|(p, _)| p.matches(name))
                .map_or(cfg.default, |(_, d)| *d)
        };
        let per_method = methods.iter().map(|m| pick(m)).collect();
        let nz = |d: Duration| (!d.is_zero()).then_some(d);
        Self {
            default: cfg.default,
            rules: rules.clone(),
            per_method,
            stream_max: nz(cfg.stream_max_duration),
            stream_idle: nz(cfg.stream_idle_timeout),
        }
    }

    /// The configured timeout of a method (zero = none).
    pub fn for_method(&self, index: usize, name: &str) -> Duration {
        match self.per_method.get(index) {
            Some(d) => *d,
            None => self
                .rules
                .iter()
                .find(|(p, _)| p.matches(name))
                .map_or(self.default, |(_, d)| *d),
        }
    }

    /// The call's deadline: the configured timeout (unary calls only; streams use
    /// `stream_max`) and the caller's `grpc-timeout`, whichever is shorter.
    pub fn deadline(
        &self,
        index: usize,
        name: &str,
        streaming: bool,
        header: Option<&[u8]>,
        now: Instant,
    ) -> Option<Instant> {
        let cfg = if streaming {
            self.stream_max
        } else {
            Some(self.for_method(index, name)).filter(|d| !d.is_zero())
        };
        let caller = header.and_then(parse_grpc_timeout);
        let d = match (cfg, caller) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }?;
        Some(now + d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn shorter_wins() {
        let cfg = TimeoutConfig {
            default: Duration::from_secs(10),
            ..TimeoutConfig::default()
        };
        let s = TimeoutState::new(&cfg, &["a.S/M"]);
        let now = Instant::now();
        assert_eq!(
            s.deadline(0, "a.S/M", false, Some(b"1S"), now),
            Some(now + Duration::from_secs(1))
        );
        assert_eq!(
            s.deadline(0, "a.S/M", false, Some(b"20S"), now),
            Some(now + Duration::from_secs(10))
        );
        assert_eq!(
            s.deadline(0, "a.S/M", false, None, now),
            Some(now + Duration::from_secs(10))
        );
        assert_eq!(
            s.deadline(0, "a.S/M", true, None, now),
            None,
            "streams: no default deadline"
        );
        assert_eq!(
            s.deadline(0, "a.S/M", true, Some(b"3S"), now),
            Some(now + Duration::from_secs(3))
        );
    }
}
