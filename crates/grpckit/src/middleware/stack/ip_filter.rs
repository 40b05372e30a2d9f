//! IP filter: the client address against the allow/deny lists that apply to the method,
//! before routing and auth (`middleware::ip_filter`).

use http::Request;
use tonic::{Status, body::Body};

use super::record::CallRecord;
use crate::{middleware::ip_filter::ip_denied, telemetry::metrics};

/// Refuses a call whose client address the lists do not allow.
#[inline]
pub(super) fn check(rec: &CallRecord, req: &Request<Body>) -> Result<(), Status> {
    let Some(filter) = &rec.shared.ip_filter else {
        return Ok(());
    };
    let peer = rec.peer.map(|a| a.ip());
    match filter
        .load()
        .check(rec.method.index, &rec.method.name, peer, req.headers())
    {
        Ok(()) => Ok(()),
        Err(refusal) => {
            metrics::ip_rejected(refusal.label());
            Err(ip_denied())
        }
    }
}
