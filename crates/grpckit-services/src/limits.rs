//! The reference app's default rate limits. `Login` and `CreateUser` answer anyone (they are
//! the public methods of `middleware.auth`), so unless the configuration has rate-limit rules
//! of its own, each client address gets a small bucket for each of them. The framework stays
//! generic: these rules are ordinary `middleware.rate_limit.rules` the app fills in.

use std::time::Duration;

use grpckit::config::{MethodPattern, MiddlewareConfig, RateRule};

/// The methods limited by default.
pub const PUBLIC_METHODS: [&str; 2] = [
    "user.v1.UserService/Login",
    "user.v1.UserService/CreateUser",
];
/// Sustained calls per second per client address to each public method.
pub const PUBLIC_PER_SECOND: u32 = 1;
/// Calls per client address allowed at once before the sustained rate applies.
pub const PUBLIC_BURST: u32 = 5;

/// One rule per public method: [`PUBLIC_PER_SECOND`] with a burst of [`PUBLIC_BURST`],
/// keyed by the caller (the client address, as these calls are anonymous).
pub fn default_rate_rules() -> Vec<RateRule> {
    PUBLIC_METHODS
        .iter()
        .map(|m| RateRule {
            methods: MethodPattern::exact(m),
            per_second: PUBLIC_PER_SECOND,
            burst: PUBLIC_BURST,
            cluster_limit: 0,
            cluster_window: Duration::from_secs(1),
            max_concurrent: 0,
        })
        .collect()
}

/// `config` with [`default_rate_rules`] when it has no rules of its own.
pub fn with_default_rate_rules(mut config: MiddlewareConfig) -> MiddlewareConfig {
    if config.rate_limit.rules.is_empty() {
        config.rate_limit.rules = default_rate_rules();
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_only_an_empty_rule_list() {
        let filled = with_default_rate_rules(MiddlewareConfig::default());
        assert_eq!(filled.rate_limit.rules.len(), 2);
        assert!(filled.rate_limit.rules.iter().all(|r| r.burst <= 5));
        let mut own = MiddlewareConfig::default();
        own.rate_limit.rules = vec![default_rate_rules().remove(0)];
        own.rate_limit.rules[0].burst = 100;
        assert_eq!(with_default_rate_rules(own.clone()), own);
    }
}
