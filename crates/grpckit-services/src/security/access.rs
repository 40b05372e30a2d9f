//! Ownership checks on top of the middleware's RBAC: handlers read the caller
//! ([`grpckit::middleware::auth::Principal`]) from request extensions. A normal user acts only
//! on their own user record and orders; `admin` (and `service` API keys) act on all;
//! `support` may read. Without a principal (auth disabled) nothing is checked.

use std::time::Duration;

use grpckit::middleware::{auth::Principal, timeout::Deadline};
use tonic::{Request, metadata::AsciiMetadataValue};

use crate::ServiceError;

/// The caller, when the auth middleware identified one.
pub fn caller<T>(req: &Request<T>) -> Option<Principal> {
    req.extensions().get::<Principal>().cloned()
}

/// Allows self or admin to change data owned by `owner_id`; a refusal names the reason
/// `NOT_OWNER` in `domain` (the calling service's package).
pub fn check_owner(
    p: Option<&Principal>,
    owner_id: &str,
    domain: &'static str,
) -> Result<(), ServiceError> {
    match p {
        Some(p) if !p.may_act_for(owner_id) => Err(ServiceError::PermissionDenied(
            crate::reasons::not_owner(domain),
            "not allowed to act on another user's data".into(),
        )),
        _ => Ok(()),
    }
}

/// Allows self, admin or support to read data owned by `owner_id`; a refusal names the
/// reason `NOT_OWNER` in `domain` (the calling service's package).
pub fn check_reader(
    p: Option<&Principal>,
    owner_id: &str,
    domain: &'static str,
) -> Result<(), ServiceError> {
    match p {
        Some(p) if !(p.may_act_for(owner_id) || p.has_role("support")) => {
            Err(ServiceError::PermissionDenied(
                crate::reasons::not_owner(domain),
                "not allowed to read another user's data".into(),
            ))
        }
        _ => Ok(()),
    }
}

/// What an outgoing call (OrderService -> UserService) carries from the incoming one: the
/// caller's credentials and the remaining deadline.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The incoming `authorization` header.
    pub authorization: Option<AsciiMetadataValue>,
    /// The incoming `x-api-key` header.
    pub api_key: Option<AsciiMetadataValue>,
    /// Budget left.
    pub remaining: Option<Duration>,
}

impl CallContext {
    /// Captures the context of an incoming request.
    pub fn of<T>(req: &Request<T>) -> Self {
        Self {
            authorization: req.metadata().get("authorization").cloned(),
            api_key: req.metadata().get("x-api-key").cloned(),
            remaining: req.extensions().get::<Deadline>().map(Deadline::remaining),
        }
    }

    /// Applies it to an outgoing request.
    pub fn apply<T>(&self, out: &mut Request<T>) {
        if let Some(a) = &self.authorization {
            out.metadata_mut().insert("authorization", a.clone());
        }
        if let Some(k) = &self.api_key {
            out.metadata_mut().insert("x-api-key", k.clone());
        }
        if let Some(d) = self.remaining {
            out.set_timeout(d);
        }
    }
}
