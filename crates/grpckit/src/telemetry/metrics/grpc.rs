//! The go-grpc-prometheus series (server and client twins) and their cached handles.

use std::sync::OnceLock;

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry,
};
use tonic::Code;

use super::methods::MethodInfo;

/// go's `codes.Code.String()`, indexed by the numeric code: the `grpc_code` label values.
pub(crate) const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

/// Which end of a call is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// `grpc_server_*`
    Server,
    /// `grpc_client_*`
    Client,
}

/// The vectors of one side, registered once.
#[derive(Debug)]
pub(crate) struct SideVecs {
    started: IntCounterVec,
    handled: IntCounterVec,
    received: IntCounterVec,
    sent: IntCounterVec,
    seconds: HistogramVec,
}

const LABELS: [&str; 3] = ["grpc_type", "grpc_service", "grpc_method"];
const LABELS_CODE: [&str; 4] = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"];

impl SideVecs {
    pub(crate) fn register(side: Side, registry: &Registry) -> prometheus::Result<Self> {
        let (p, on, by, recv_help, sent_help, hist_help) = match side {
            Side::Server => (
                "grpc_server",
                "on the server",
                "on the server",
                "Total number of RPC stream messages received on the server.",
                "Total number of gRPC stream messages sent by the server.",
                "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
            ),
            Side::Client => (
                "grpc_client",
                "on the client",
                "by the client",
                "Total number of RPC stream messages received by the client.",
                "Total number of gRPC stream messages sent by the client.",
                "Histogram of response latency (seconds) of the gRPC until it is finished by the application.",
            ),
        };
        let started = IntCounterVec::new(
            Opts::new(
                format!("{p}_started_total"),
                format!("Total number of RPCs started {on}."),
            ),
            &LABELS,
        )?;
        let handled = IntCounterVec::new(
            Opts::new(
                format!("{p}_handled_total"),
                format!("Total number of RPCs completed {by}, regardless of success or failure."),
            ),
            &LABELS_CODE,
        )?;
        let received = IntCounterVec::new(
            Opts::new(format!("{p}_msg_received_total"), recv_help),
            &LABELS,
        )?;
        let sent =
            IntCounterVec::new(Opts::new(format!("{p}_msg_sent_total"), sent_help), &LABELS)?;
        let seconds = HistogramVec::new(
            HistogramOpts::new(format!("{p}_handling_seconds"), hist_help)
                .buckets(prometheus::DEFAULT_BUCKETS.to_vec()),
            &LABELS,
        )?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(handled.clone()))?;
        registry.register(Box::new(received.clone()))?;
        registry.register(Box::new(sent.clone()))?;
        registry.register(Box::new(seconds.clone()))?;
        Ok(Self {
            started,
            handled,
            received,
            sent,
            seconds,
        })
    }

    pub(crate) fn handles(&'static self, m: &MethodInfo) -> SideHandles {
        let l = [m.kind.as_str(), &*m.service, &*m.method];
        SideHandles {
            vecs: self,
            started: self.started.with_label_values(&l),
            received: self.received.with_label_values(&l),
            sent: self.sent.with_label_values(&l),
            seconds: self.seconds.with_label_values(&l),
            handled: std::array::from_fn(|_| OnceLock::new()),
        }
    }
}

/// Per (method, side) handles: resolved once, then every call records with atomics only.
#[derive(Debug)]
pub(crate) struct SideHandles {
    vecs: &'static SideVecs,
    pub(crate) started: IntCounter,
    pub(crate) received: IntCounter,
    pub(crate) sent: IntCounter,
    pub(crate) seconds: Histogram,
    handled: [OnceLock<IntCounter>; 17],
}

impl SideHandles {
    /// The `grpc_server_handled_total` counter of `code`, created on first use.
    #[inline]
    pub(crate) fn handled(&self, m: &MethodInfo, code: Code) -> &IntCounter {
        let i = (code as usize).min(16);
        self.handled[i].get_or_init(|| {
            self.vecs.handled.with_label_values(&[
                m.kind.as_str(),
                &*m.service,
                &*m.method,
                CODE_NAMES[i],
            ])
        })
    }
}
