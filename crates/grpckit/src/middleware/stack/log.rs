//! Request id + access log: the id is taken from the caller or generated, put in the
//! request extensions and echoed in the response headers; the access line is written when
//! the call ends (`middleware::log`).

use std::{sync::atomic::Ordering, time::Duration};

use http::{HeaderMap, HeaderValue, Request};
use tonic::{Code, body::Body};

use super::record::CallRecord;
use crate::{
    error::code_name,
    middleware::log::{AccessLine, RequestId, Verdict, request_id},
    middleware::switch::Parts,
};

/// Takes or generates the call's request id.
#[inline]
pub(super) fn start(rec: &mut CallRecord, req: &mut Request<Body>) {
    if rec.shared.log.is_some() {
        let id = request_id(req.headers());
        req.extensions_mut().insert(RequestId(id.clone()));
        rec.request_id = Some(id);
    }
}

/// Whether the access line counts the request messages (of client streams).
#[inline]
pub(super) fn counts_messages(rec: &CallRecord) -> bool {
    rec.shared.log.is_some() && rec.method.kind.client_streams() && !rec.off.contains(Parts::LOG)
}

/// Returns the request id to the caller.
#[inline]
pub(super) fn echo_request_id(rec: &CallRecord, headers: &mut HeaderMap) {
    if let Some(id) = &rec.request_id {
        echo(headers, id.clone());
    }
}

/// [`echo_request_id`] for a call that ends here (the id is not needed afterwards).
#[inline]
pub(super) fn echo_request_id_once(rec: &mut CallRecord, headers: &mut HeaderMap) {
    if let Some(id) = rec.request_id.take() {
        echo(headers, id);
    }
}

/// It is unique per call, so HPACK is told never to index it: a value that never repeats
/// would only churn both sides' header tables.
fn echo(headers: &mut HeaderMap, mut id: HeaderValue) {
    id.set_sensitive(true);
    headers.insert(crate::headers::X_REQUEST_ID, id);
}

/// Writes the access line of the ended call, when the policy and the log level want one.
pub(super) fn finish(rec: &CallRecord, code: Code, end: std::time::Instant, elapsed: Duration) {
    let Some(policy) = &rec.shared.log else {
        return;
    };
    if rec.off.contains(Parts::LOG) {
        return;
    }
    let (info, slow, enabled) = match policy.load().verdict(&rec.method.name, code, elapsed) {
        Verdict::Info { slow } => (
            true,
            slow,
            tracing::enabled!(target: "grpckit::access", tracing::Level::INFO),
        ),
        Verdict::Debug => (
            false,
            false,
            tracing::enabled!(target: "grpckit::access", tracing::Level::DEBUG),
        ),
        Verdict::Skip => (false, false, false),
    };
    if enabled {
        AccessLine {
            info,
            slow,
            at: end,
            method: &rec.method.name,
            kind: rec.method.kind.as_str(),
            code: code_name(code),
            duration_us: elapsed.as_micros() as u64,
            peer: rec.peer,
            principal: rec.principal.as_ref(),
            request_id: rec.request_id_str(),
            msgs_in: rec
                .inspected
                .as_ref()
                .map(|i| i.messages.load(Ordering::Relaxed)),
            msgs_out: rec.out_msgs,
        }
        .emit();
    }
}
