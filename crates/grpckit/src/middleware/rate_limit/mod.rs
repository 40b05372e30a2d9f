//! Rate limiting and load shedding: token buckets per (method rule, principal or peer IP),
//! optional cluster-wide budgets in Redis, and a concurrency limit per rule. Over a limit:
//! `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail; Redis down with fail-closed:
//! `UNAVAILABLE`.

mod cluster;
mod local;

use std::time::Duration;

pub use cluster::{ClusterLimiter, ClusterVerdict};
pub use local::{RateState, Refused, RuleLimiter};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::reason;

/// `RESOURCE_EXHAUSTED` with a `RetryInfo` detail and the reason `RATE_LIMITED`.
pub fn rate_limited(retry_after: Duration) -> Status {
    let mut details = ErrorDetails::with_retry_info(Some(retry_after));
    reason::RATE_LIMITED.add_to(&mut details);
    Status::with_error_details(Code::ResourceExhausted, "rate limit exceeded", details)
}

/// The status for a local refusal.
pub fn refused_status(r: Refused) -> Status {
    match r {
        Refused::RateLimited(d) => rate_limited(d),
        Refused::Overloaded => reason::OVERLOADED.status(
            Code::ResourceExhausted,
            "server overloaded, try again later",
        ),
    }
}
