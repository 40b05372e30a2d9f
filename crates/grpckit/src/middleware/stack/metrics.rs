//! Metrics: the go-grpc-prometheus series of the call, from its start to its final status
//! (`telemetry::metrics`). Response messages are counted by the response body wrapper.

use http::Request;
use tokio::time::Instant;
use tonic::{Code, body::Body};

use super::record::CallRecord;
use crate::telemetry::metrics::{self, CallRecorder, Side, count_body};

/// Starts the call's series; request messages of client streams are counted as they come.
#[inline]
pub(super) fn start(rec: &mut CallRecord, req: &mut Request<Body>, now: Instant) {
    if !(rec.shared.metrics && metrics::enabled()) {
        return;
    }
    let m = CallRecorder::start_at(rec.method.metered, Side::Server, now.into_std());
    if rec.method.kind.client_streams() {
        let counter = m.request_messages();
        let body = std::mem::replace(req.body_mut(), Body::empty());
        *req.body_mut() = count_body(body, counter);
    }
    rec.metrics = Some(m);
}

/// Ends the call's series with its final code.
#[inline]
pub(super) fn finish(rec: &mut CallRecord, code: Code, end: std::time::Instant) {
    if let Some(m) = &mut rec.metrics {
        m.finish_at(code, end);
    }
}
