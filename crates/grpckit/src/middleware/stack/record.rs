//! One call's bookkeeping: emitted once (access line + audit record) when the call ends,
//! whether it ends normally, with an error, by a panic, a timeout or the client leaving.

use std::{net::SocketAddr, sync::Arc, time::Instant};

use http::HeaderValue;
use tokio::sync::OwnedSemaphorePermit;
use tonic::Code;

use super::{StackShared, audit, log, metrics};
use crate::{
    middleware::{auth::Principal, method::MethodInfo, switch::Parts, validate::Inspected},
    telemetry::metrics::CallRecorder,
};

/// See the module docs.
pub(crate) struct CallRecord {
    pub(crate) shared: Arc<StackShared>,
    pub(crate) method: Arc<MethodInfo>,
    pub(crate) start: Instant,
    pub(crate) request_id: Option<HeaderValue>,
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) principal: Option<Principal>,
    pub(crate) inspected: Option<Arc<Inspected>>,
    pub(crate) out_msgs: u32,
    pub(crate) permit: Option<OwnedSemaphorePermit>,
    /// The go-grpc-prometheus series of the call (`None` with metrics off).
    pub(crate) metrics: Option<CallRecorder>,
    pub(crate) done: bool,
    /// The parts switched off for this call (`middleware.switches`).
    pub(crate) off: Parts,
}

impl CallRecord {
    /// The record of a call of `method` that started at `start`; the parts fill in the rest.
    #[inline]
    pub(crate) fn new(
        shared: Arc<StackShared>,
        method: Arc<MethodInfo>,
        start: Instant,
        peer: Option<SocketAddr>,
    ) -> Self {
        Self {
            shared,
            method,
            start,
            request_id: None,
            peer,
            principal: None,
            inspected: None,
            out_msgs: 0,
            permit: None,
            metrics: None,
            done: false,
            off: Parts::NONE,
        }
    }

    pub(crate) fn request_id_str(&self) -> &str {
        self.request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Ends the call (once): its metrics, access line and audit record.
    pub(crate) fn finish(&mut self, code: Code) {
        if self.done {
            return;
        }
        self.done = true;
        // The rate limit's concurrency permit.
        self.permit = None;
        let end = Instant::now();
        let elapsed = end.saturating_duration_since(self.start);
        metrics::finish(self, code, end);
        log::finish(self, code, end, elapsed);
        audit::finish(self, code, elapsed);
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        // Dropped before a status was seen: the client went away or the server stopped.
        self.finish(Code::Cancelled);
    }
}
