//! Routing: a call of a method the server does not have is `UNIMPLEMENTED` whoever calls,
//! as in grpc-go, which routes before its interceptors run: no credentials are needed to
//! learn what reflection lists. Runs just before auth.

use http::Request;
use tonic::{Status, body::Body};

use super::record::CallRecord;

/// Refuses a call of an unknown method (or of a service the server does not route).
#[inline]
pub(super) fn check(
    rec: &CallRecord,
    req: &Request<Body>,
    routed: Option<&foldhash::HashSet<Box<str>>>,
) -> Result<(), Status> {
    if rec.method.index == usize::MAX
        && let Some(st) = rec.shared.methods.unknown(req.uri().path(), routed)
    {
        return Err(st);
    }
    Ok(())
}
