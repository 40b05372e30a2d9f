//! One call's bookkeeping: emitted once (access line + audit record) when the call ends,
//! whether it ends normally, with an error, by a panic, a timeout or the client leaving.

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::Ordering},
    time::{Instant, SystemTime},
};

use http::HeaderValue;
use tokio::sync::OwnedSemaphorePermit;
use tonic::Code;

use super::{
    audit::AuditRecord,
    auth::Principal,
    log::{AccessLine, Verdict},
    method::MethodInfo,
    stack::StackShared,
    validate::Inspected,
};
use crate::{error::code_name, telemetry::metrics::CallRecorder};

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
}

impl CallRecord {
    pub(crate) fn request_id_str(&self) -> &str {
        self.request_id
            .as_ref()
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Emits the access line and the audit record (once).
    pub(crate) fn finish(&mut self, code: Code) {
        if self.done {
            return;
        }
        self.done = true;
        self.permit = None;
        let end = Instant::now();
        if let Some(m) = &mut self.metrics {
            m.finish_at(code, end);
        }
        let elapsed = end.saturating_duration_since(self.start);
        let sh = &self.shared;
        if let Some(policy) = &sh.log {
            let (info, slow, enabled) =
                match policy.load().verdict(&self.method.name, code, elapsed) {
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
                    method: &self.method.name,
                    kind: self.method.kind.as_str(),
                    code: code_name(code),
                    duration_us: elapsed.as_micros() as u64,
                    peer: self.peer,
                    principal: self.principal.as_ref(),
                    request_id: self.request_id_str(),
                    msgs_in: self
                        .inspected
                        .as_ref()
                        .map(|i| i.messages.load(Ordering::Relaxed)),
                    msgs_out: self.out_msgs,
                }
                .emit();
            }
        }
        if let (Some(sink), true) = (&sh.audit, self.method.audited) {
            let time = humantime::format_rfc3339_micros(SystemTime::now()).to_string();
            sink.record(AuditRecord {
                time,
                principal: self
                    .principal
                    .as_ref()
                    .map_or("anonymous", Principal::subject)
                    .to_owned(),
                auth: self
                    .principal
                    .as_ref()
                    .map_or("none", |p| p.auth_method().as_str()),
                method: self.method.name.to_string(),
                kind: self.method.kind.as_str(),
                target: self
                    .inspected
                    .as_ref()
                    .and_then(|i| i.target.get().cloned()),
                request_id: self.request_id_str().to_owned(),
                peer: self.peer.map(|p| p.to_string()),
                code: code_name(code),
                duration_us: elapsed.as_micros() as u64,
            });
        }
    }
}

impl Drop for CallRecord {
    fn drop(&mut self) {
        // Dropped before a status was seen: the client went away or the server stopped.
        self.finish(Code::Cancelled);
    }
}
