//! The retry throttle of gRPC A6 (`retryThrottling`): a token bucket holding up to
//! `max_tokens`; each failed attempt with a retryable status takes 1 token, each successful
//! call adds `token_ratio`; retries are allowed only while more than `max_tokens / 2` remain.
//! So a backend that always fails gets at most about `max_tokens / 2` retries in total instead
//! of `max_attempts - 1` per call. Kept in thousandths in one atomic, as A6 suggests.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config::RetryBudgetConfig;

/// See the module docs.
#[derive(Debug)]
pub(crate) struct Budget {
    tokens: AtomicU64,
    max: u64,
    ratio: u64,
}

impl Budget {
    pub(crate) fn new(cfg: &RetryBudgetConfig) -> Self {
        let max = u64::from(cfg.max_tokens) * 1000;
        let ratio = (cfg.token_ratio * 1000.0).round().max(1.0) as u64;
        Self {
            tokens: AtomicU64::new(max),
            max,
            ratio,
        }
    }

    /// Whether a retry may be sent now.
    pub(crate) fn allows_retry(&self) -> bool {
        self.tokens.load(Ordering::Relaxed) > self.max / 2
    }

    /// An attempt failed with a retryable status.
    pub(crate) fn failure(&self) {
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_sub(1000))
            });
    }

    /// A call succeeded.
    pub(crate) fn success(&self) {
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                (t < self.max).then(|| (t + self.ratio).min(self.max))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_half_is_spent_and_recovers() {
        let b = Budget::new(&RetryBudgetConfig {
            max_tokens: 10,
            token_ratio: 0.5,
        });
        for _ in 0..4 {
            b.failure();
        }
        assert!(b.allows_retry(), "6 > 5");
        b.failure();
        assert!(!b.allows_retry(), "5 is not > 5");
        b.success();
        assert!(b.allows_retry(), "5.5 > 5");
        for _ in 0..100 {
            b.success();
        }
        for _ in 0..4 {
            b.failure();
        }
        assert!(b.allows_retry(), "capped at 10, so 6 left");
    }
}
