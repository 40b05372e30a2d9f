//! Call policy declared in the contract: the `grpckit.v1.policy` method option
//! (`proto/grpckit/v1/policy.proto`).
//!
//! ```proto
//! rpc Login(LoginRequest) returns (LoginResponse) {
//!   option (grpckit.v1.policy) = {public: true, rate_limit: "1/s burst 5", audit: true};
//! }
//! ```
//!
//! Why: which methods are public, who may call them, how often and for how long are facts
//! about the API, so they belong next to the method, where a reviewer of the contract sees
//! them, rather than in lists of method names in each deployment's config. The server reads
//! the option from its descriptor sets when it builds its stack ([`Policies::read`]); the
//! client reads `idempotent` to decide what it may retry.
//!
//! The config file overrides it per method (`middleware.policy.methods`,
//! [`PolicyConfig`](crate::config::PolicyConfig)). The effective policy then becomes
//! ordinary middleware rules ([`Policies::apply`]), placed AFTER the rules the config lists
//! itself, so an explicit config rule for a method (a rate rule, a timeout, a public
//! pattern) still wins where the layers take the first match:
//!
//! | option field | becomes |
//! |---|---|
//! | `public` | an entry of `middleware.auth.public_methods` |
//! | `roles` | an allow entry of each role's rule in `middleware.auth.roles` |
//! | `rate_limit` | a rule of `middleware.rate_limit.rules` (per caller) |
//! | `timeout` | an entry of `middleware.timeout.methods` |
//! | `audit` | an entry of `middleware.audit.methods` |
//! | `idempotent` | the client's retry decision (default from `idempotency_level`) |

mod merge;
mod rate;
mod read;
#[cfg(test)]
mod tests;

use std::{collections::BTreeMap, time::Duration};

use serde::Serialize;

pub(crate) use merge::read_logged;
pub use merge::{effective_config, effective_policies};
pub use rate::{Rate, RateError};
pub use read::{EXTENSION, declared_option_text};

/// The policy of one method.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MethodPolicy {
    /// Callable without credentials.
    pub public: bool,
    /// Roles allowed to call it (besides the roles allowed everything).
    pub roles: Vec<String>,
    /// Per-caller rate limit.
    pub rate_limit: Option<Rate>,
    /// Deadline of a unary call.
    #[serde(with = "humantime_serde")]
    pub timeout: Option<Duration>,
    /// Safe to send twice: clients retry it.
    pub idempotent: bool,
    /// Every call is audited.
    pub audit: bool,
}

/// One method's policy and where it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyEntry {
    /// The policy in force.
    #[serde(flatten)]
    pub policy: MethodPolicy,
    /// The method has a `grpckit.v1.policy` option.
    pub declared: bool,
    /// The fields `middleware.policy.methods` set, in force instead of the `.proto` values.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<&'static str>,
}

/// Policies by method (`pkg.Service/Method`), in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Policies {
    methods: BTreeMap<String, PolicyEntry>,
}

/// A `grpckit.v1.policy` option whose value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{method}: option (grpckit.v1.policy): {reason}")]
pub struct PolicyError {
    /// `pkg.Service/Method`.
    pub method: String,
    /// What is wrong.
    pub reason: String,
}

impl Policies {
    /// The entry of `method` (`pkg.Service/Method`, a leading `/` ignored).
    pub fn get(&self, method: &str) -> Option<&PolicyEntry> {
        self.methods.get(method.strip_prefix('/').unwrap_or(method))
    }

    /// Every method and its entry, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &PolicyEntry)> {
        self.methods.iter().map(|(m, e)| (m.as_str(), e))
    }

    /// Only the methods with a declared or overridden policy: the table `GET /config` shows.
    pub fn table(&self) -> Self {
        Self {
            methods: self
                .methods
                .iter()
                .filter(|(_, e)| e.declared || !e.overridden.is_empty())
                .map(|(m, e)| (m.clone(), e.clone()))
                .collect(),
        }
    }
}
