//! Rate limiting and load shedding: token buckets per (method rule, principal or peer IP),
//! optional cluster-wide budgets in Redis, and a concurrency limit per rule. Over a limit:
//! `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail; Redis down with fail-closed:
//! `UNAVAILABLE`.

mod cluster;
mod layer;
mod local;

use std::time::Duration;

pub use cluster::{ClusterLimiter, ClusterVerdict};
pub use layer::RateLimitLayer;
pub use local::{RateState, Refused, RuleLimiter};
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `RESOURCE_EXHAUSTED` with a `RetryInfo` detail.
pub fn rate_limited(retry_after: Duration) -> Status {
    Status::with_error_details(
        Code::ResourceExhausted,
        "rate limit exceeded",
        ErrorDetails::with_retry_info(Some(retry_after)),
    )
}

/// The status for a local refusal.
pub fn refused_status(r: Refused) -> Status {
    match r {
        Refused::RateLimited(d) => rate_limited(d),
        Refused::Overloaded => Status::resource_exhausted("server overloaded, try again later"),
    }
}
