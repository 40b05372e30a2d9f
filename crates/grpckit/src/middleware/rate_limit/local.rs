//! Per-instance limits: a token bucket per (rule, principal) via `governor`, and a
//! concurrency limit per rule that sheds load instead of queueing.

use std::{sync::Arc, time::Duration};

use governor::{
    DefaultKeyedRateLimiter, Quota,
    clock::{Clock, DefaultClock},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{config::RateRule, middleware::method::MethodPattern};

/// The limits of one rule.
pub struct RuleLimiter {
    /// The rule's pattern text (Redis key part, logs).
    pub(crate) name: Box<str>,
    bucket: Option<DefaultKeyedRateLimiter<u64>>,
    clock: DefaultClock,
    concurrency: Option<Arc<Semaphore>>,
    /// `(limit, window)` shared through Redis.
    pub(crate) cluster: Option<(u32, Duration)>,
}

impl std::fmt::Debug for RuleLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleLimiter")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Why a call was refused locally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The caller's bucket is empty; retry after the duration.
    #[error("rate limit exceeded")]
    RateLimited(Duration),
    /// Too many calls in flight.
    #[error("too many concurrent calls")]
    Overloaded,
}

impl RuleLimiter {
    /// Builds a rule's limiters.
    pub fn new(rule: &RateRule) -> Self {
        let bucket = std::num::NonZeroU32::new(rule.per_second).map(|rate| {
            let burst = std::num::NonZeroU32::new(rule.burst).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Self {
            name: rule.methods.as_str().into(),
            bucket,
            clock: DefaultClock::default(),
            concurrency: (rule.max_concurrent > 0)
                .then(|| Arc::new(Semaphore::new(rule.max_concurrent as usize))),
            cluster: (rule.cluster_limit > 0).then_some((rule.cluster_limit, rule.cluster_window)),
        }
    }

    /// Takes a token from `key`'s bucket and a concurrency permit.
    pub fn admit(&self, key: u64) -> Result<Option<OwnedSemaphorePermit>, Refused> {
        if let Some(b) = &self.bucket
            && let Err(not_until) = b.check_key(&key)
        {
            return Err(Refused::RateLimited(
                not_until.wait_time_from(self.clock.now()),
            ));
        }
        match &self.concurrency {
            Some(sem) => sem
                .clone()
                .try_acquire_owned()
                .map(Some)
                .map_err(|_| Refused::Overloaded),
            None => Ok(None),
        }
    }
}

/// All rules, plus the rule of each known method resolved once.
#[derive(Debug, Default)]
pub struct RateState {
    rules: Vec<(MethodPattern, Arc<RuleLimiter>)>,
    per_method: Vec<Option<Arc<RuleLimiter>>>,
}

impl RateState {
    /// Builds the state for the given known method names (index order).
    pub fn new(rules: &[RateRule], methods: &[&str]) -> Self {
        let rules: Vec<_> = rules
            .iter()
            .map(|r| (r.methods.clone(), Arc::new(RuleLimiter::new(r))))
            .collect();
        let per_method = methods
            .iter()
            .map(|m| {
                rules
                    .iter()
                    .find(|(p, _)| p.matches(m))
                    .map(|(_, l)| l.clone())
            })
            .collect();
        Self { rules, per_method }
    }

    /// The rule for a method (by table index, or by name when unknown).
    pub fn rule(&self, index: usize, name: &str) -> Option<&Arc<RuleLimiter>> {
        match self.per_method.get(index) {
            Some(r) => r.as_ref(),
            None => self
                .rules
                .iter()
                .find(|(p, _)| p.matches(name))
                .map(|(_, l)| l),
        }
    }

    /// Whether any rule exists.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(per_second: u32, burst: u32, max_concurrent: u32) -> RateRule {
        RateRule {
            methods: MethodPattern::any(),
            per_second,
            burst,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent,
        }
    }

    #[test]
    fn bucket_per_key_with_retry_after() {
        let l = RuleLimiter::new(&rule(1, 2, 0));
        assert!(l.admit(1).is_ok());
        assert!(l.admit(1).is_ok());
        match l.admit(1) {
            Err(Refused::RateLimited(d)) => {
                assert!(d > Duration::ZERO && d <= Duration::from_secs(1))
            }
            other => panic!("expected rate limited, got {other:?}"),
        }
        assert!(l.admit(2).is_ok(), "another principal has its own bucket");
    }

    #[test]
    fn concurrency_sheds() {
        let l = RuleLimiter::new(&rule(0, 0, 1));
        let p = l.admit(1).unwrap();
        assert_eq!(l.admit(2).unwrap_err(), Refused::Overloaded);
        drop(p);
        assert!(l.admit(2).is_ok());
    }

    #[test]
    fn first_matching_rule_per_method() {
        let mut a = rule(5, 5, 0);
        a.methods = MethodPattern::service("order.v1.OrderService");
        let s = RateState::new(
            &[a],
            &[
                "order.v1.OrderService/GetOrder",
                "user.v1.UserService/GetUser",
            ],
        );
        assert!(s.rule(0, "").is_some());
        assert!(s.rule(1, "").is_none());
        assert!(s.rule(usize::MAX, "order.v1.OrderService/X").is_some());
    }
}
