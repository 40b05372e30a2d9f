//! [`LoginBackoff`]: exponential back-off per account after failed logins.
//!
//! Keyed by the normalized email whether or not an account has it, so the answer never tells
//! which emails exist. Memory is bounded: at most `capacity` emails are tracked (the least
//! recently used are forgotten first), and an email's failures are forgotten `forget_after`
//! its last one.

use std::time::Duration;

use tokio::time::Instant;

/// How the back-off grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// Failed logins in a row answered without a wait; after them every attempt waits.
    /// Default `5`.
    pub free_failures: u32,
    /// Wait after the last free failure; doubles with each further failure. Default `1s`.
    pub base: Duration,
    /// Longest wait. Default `15m`.
    pub max: Duration,
    /// Failures are forgotten this long after the last one. Default `1h`.
    pub forget_after: Duration,
    /// Emails tracked at most. Default `100000`.
    pub capacity: usize,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base: Duration::from_secs(1),
            max: Duration::from_secs(15 * 60),
            forget_after: Duration::from_secs(3600),
            capacity: 100_000,
        }
    }
}

impl BackoffPolicy {
    /// The wait after `failures` failed logins in a row.
    pub fn wait_after(&self, failures: u32) -> Duration {
        let Some(past) = failures.checked_sub(self.free_failures) else {
            return Duration::ZERO;
        };
        let factor = 1u32.checked_shl(past).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Failed logins per email.
#[derive(Debug)]
pub struct LoginBackoff {
    policy: BackoffPolicy,
    failures: quick_cache::sync::Cache<String, Failures>,
}

impl LoginBackoff {
    /// An empty tracker.
    pub fn new(policy: BackoffPolicy) -> Self {
        Self {
            failures: quick_cache::sync::Cache::new(policy.capacity.max(1)),
            policy,
        }
    }

    fn current(&self, email: &str, now: Instant) -> Option<Failures> {
        self.failures
            .get(email)
            .filter(|f| now.saturating_duration_since(f.last) < self.policy.forget_after)
    }

    /// `Err(wait)` while `email` must wait before another attempt.
    pub fn check(&self, email: &str, now: Instant) -> Result<(), Duration> {
        let Some(f) = self.current(email, now) else {
            return Ok(());
        };
        let until = f.last + self.policy.wait_after(f.count);
        match until.checked_duration_since(now) {
            Some(wait) if !wait.is_zero() => Err(wait),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt.
    pub fn failed(&self, email: &str, now: Instant) {
        let count = self.current(email, now).map_or(0, |f| f.count);
        self.failures.insert(
            email.to_owned(),
            Failures {
                count: count.saturating_add(1),
                last: now,
            },
        );
    }

    /// A successful login clears the email's failures.
    pub fn succeeded(&self, email: &str) {
        self.failures.remove(email);
    }
}

impl Default for LoginBackoff {
    fn default() -> Self {
        Self::new(BackoffPolicy::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        let p = BackoffPolicy::default();
        let secs = |n| Duration::from_secs(n);
        let waits: Vec<_> = (0..=9).map(|n| p.wait_after(n)).collect();
        assert_eq!(
            waits,
            [0, 0, 0, 0, 0, 1, 2, 4, 8, 16].map(secs),
            "five free failures, then 1 s doubling"
        );
        assert_eq!(p.wait_after(40), p.max);
        assert_eq!(p.wait_after(u32::MAX), p.max);
    }

    #[test]
    fn an_email_waits_after_its_free_failures_and_others_do_not() {
        let b = LoginBackoff::default();
        let t0 = Instant::now();
        for _ in 0..4 {
            assert_eq!(b.check("a@x", t0), Ok(()));
            b.failed("a@x", t0);
        }
        assert_eq!(b.check("a@x", t0), Ok(()), "the fifth attempt is free");
        b.failed("a@x", t0);
        assert_eq!(b.check("a@x", t0), Err(Duration::from_secs(1)));
        assert_eq!(
            b.check("a@x", t0 + Duration::from_millis(400)),
            Err(Duration::from_millis(600))
        );
        assert_eq!(b.check("b@x", t0), Ok(()), "keyed by email");
        let later = t0 + Duration::from_secs(1);
        assert_eq!(b.check("a@x", later), Ok(()));
        b.failed("a@x", later);
        assert_eq!(b.check("a@x", later), Err(Duration::from_secs(2)));
        b.succeeded("a@x");
        assert_eq!(b.check("a@x", later), Ok(()));
    }

    #[test]
    fn failures_are_forgotten_and_memory_is_bounded() {
        let b = LoginBackoff::new(BackoffPolicy {
            capacity: 10,
            ..BackoffPolicy::default()
        });
        let t0 = Instant::now();
        for _ in 0..8 {
            b.failed("a@x", t0);
        }
        assert!(b.check("a@x", t0).is_err());
        let forgotten = t0 + BackoffPolicy::default().forget_after;
        assert_eq!(b.check("a@x", forgotten), Ok(()));
        for i in 0..1000 {
            b.failed(&format!("{i}@x"), t0);
        }
        assert!(b.failures.len() <= 10 * 2, "{}", b.failures.len());
    }
}
