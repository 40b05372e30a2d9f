//! `middleware.policy:` per-method overrides of the policy a method declares in its `.proto`
//! (`option (grpckit.v1.policy) = {...}`, see [`crate::policy`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::MethodPattern;
use crate::policy::Rate;

/// `middleware.policy:`
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Overrides of the `grpckit.v1.policy` option of the methods they match; for each
    /// method the first matching entry applies, and each key it sets replaces the value
    /// the `.proto` declares. Default none.
    pub methods: Vec<PolicyOverride>,
}

/// One override: the keys it sets win over the `.proto`, the others keep the declared values.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverride {
    /// Method pattern ([`MethodPattern`]).
    pub methods: MethodPattern,
    /// Callable without credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// Roles allowed to call the method (besides those `middleware.auth.roles` allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    /// Calls per second per caller, `N/s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<Rate>,
    /// Deadline of a unary call.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "humantime_serde::option"
    )]
    pub timeout: Option<Duration>,
    /// Safe to send twice (clients retry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent: Option<bool>,
    /// Every call is audited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<bool>,
}
