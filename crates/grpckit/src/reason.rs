//! Stable machine-readable error reasons, sent as a `google.rpc.ErrorInfo{reason, domain}`
//! detail so clients branch on the reason, never on the message text.
//!
//! A reason is UPPER_SNAKE_CASE and stable; its domain names who defines it: [`DOMAIN`]
//! (`grpckit`) for the framework's own refusals (listed here), the service's proto package
//! (e.g. `user.v1`) for an application's errors. Every reason is listed in docs/errors.md.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The domain of the framework's own reasons.
pub const DOMAIN: &str = "grpckit";

/// A stable reason and the domain that defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reason {
    domain: &'static str,
    reason: &'static str,
}

impl Reason {
    /// `reason` (UPPER_SNAKE_CASE) defined by `domain`.
    pub const fn new(domain: &'static str, reason: &'static str) -> Self {
        Self { domain, reason }
    }

    /// Who defines the reason, e.g. `grpckit` or `user.v1`.
    pub const fn domain(self) -> &'static str {
        self.domain
    }

    /// The reason, e.g. `EMAIL_TAKEN`.
    pub const fn reason(self) -> &'static str {
        self.reason
    }

    /// Adds this reason as an `ErrorInfo` (empty metadata) to `details`.
    pub fn add_to(self, details: &mut ErrorDetails) {
        details.set_error_info(self.reason, self.domain, HashMap::new());
    }

    /// A status with `code`, `message` and only this reason as detail.
    pub fn status(self, code: Code, message: impl Into<String>) -> Status {
        let mut details = ErrorDetails::new();
        self.add_to(&mut details);
        Status::with_error_details(code, message, details)
    }
}

/// `UNAUTHENTICATED`: the method needs credentials and none were sent.
pub const TOKEN_MISSING: Reason = Reason::new(DOMAIN, "TOKEN_MISSING");
/// `UNAUTHENTICATED`: the credentials were refused (bad signature, issuer, audience, key...).
pub const TOKEN_INVALID: Reason = Reason::new(DOMAIN, "TOKEN_INVALID");
/// `UNAUTHENTICATED`: the bearer token has expired; get a new one.
pub const TOKEN_EXPIRED: Reason = Reason::new(DOMAIN, "TOKEN_EXPIRED");
/// `PERMISSION_DENIED`: the client address may not call the method
/// (`middleware.ip_filter`).
pub const IP_DENIED: Reason = Reason::new(DOMAIN, "IP_DENIED");
/// `PERMISSION_DENIED`: no role of the caller allows the method.
pub const ROLE_FORBIDDEN: Reason = Reason::new(DOMAIN, "ROLE_FORBIDDEN");
/// `RESOURCE_EXHAUSTED`: a rate limit was hit (a `RetryInfo` says when to retry).
pub const RATE_LIMITED: Reason = Reason::new(DOMAIN, "RATE_LIMITED");
/// `RESOURCE_EXHAUSTED`: the method's concurrency limit is full.
pub const OVERLOADED: Reason = Reason::new(DOMAIN, "OVERLOADED");
/// `UNAVAILABLE`: the cluster rate limiter (Redis) is down and the rule fails closed.
pub const RATE_LIMITER_UNAVAILABLE: Reason = Reason::new(DOMAIN, "RATE_LIMITER_UNAVAILABLE");
/// `INVALID_ARGUMENT`: fields break their rules (a `BadRequest` lists each). Services reuse
/// this reason for their own field checks.
pub const INVALID_FIELDS: Reason = Reason::new(DOMAIN, "INVALID_FIELDS");
/// `DEADLINE_EXCEEDED`: the call's deadline (or a stream's idle timeout) ran out.
pub const DEADLINE_EXCEEDED: Reason = Reason::new(DOMAIN, "DEADLINE_EXCEEDED");
/// `UNIMPLEMENTED`: the service or method does not exist.
pub const METHOD_UNKNOWN: Reason = Reason::new(DOMAIN, "METHOD_UNKNOWN");
/// `RESOURCE_EXHAUSTED`: a request message is larger than the limit.
pub const MESSAGE_TOO_LARGE: Reason = Reason::new(DOMAIN, "MESSAGE_TOO_LARGE");

/// Every framework reason, for docs checks.
pub const ALL: &[Reason] = &[
    TOKEN_MISSING,
    TOKEN_INVALID,
    TOKEN_EXPIRED,
    IP_DENIED,
    ROLE_FORBIDDEN,
    RATE_LIMITED,
    OVERLOADED,
    RATE_LIMITER_UNAVAILABLE,
    INVALID_FIELDS,
    DEADLINE_EXCEEDED,
    METHOD_UNKNOWN,
    MESSAGE_TOO_LARGE,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_upper_snake_case_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for r in ALL {
            assert!(
                r.reason()
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
                "{r:?}"
            );
            assert!(seen.insert(r.reason()), "{r:?} twice");
        }
    }

    #[test]
    fn status_carries_error_info() {
        let st = RATE_LIMITED.status(Code::ResourceExhausted, "slow down");
        let info = st.get_details_error_info().unwrap();
        assert_eq!(
            (info.reason.as_str(), info.domain.as_str()),
            ("RATE_LIMITED", "grpckit")
        );
    }
}
