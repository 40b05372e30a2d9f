//! `grpckit_bridge_calls_total{protocol, grpc_type, grpc_service, grpc_method, grpc_code}`:
//! the calls the HTTP bridges made, by protocol. A separate series, so the go-grpc-prometheus
//! names keep their exact labels (a bridged call is counted there too, as the gRPC call it
//! became).

use std::sync::OnceLock;

use prometheus::{IntCounterVec, Opts};
use tonic::Code;

use super::{Protocol, catalog::Method};

fn calls() -> &'static IntCounterVec {
    static C: OnceLock<IntCounterVec> = OnceLock::new();
    C.get_or_init(|| {
        let c = IntCounterVec::new(
            Opts::new(
                "grpckit_bridge_calls_total",
                "Calls made through the HTTP bridges (REST, gRPC-Web, Connect), by protocol and final code.",
            ),
            &["protocol", "grpc_type", "grpc_service", "grpc_method", "grpc_code"],
        )
        .expect("static metric definition is valid");
        if let Err(e) = crate::telemetry::metrics::global()
            .registry()
            .register(Box::new(c.clone()))
        {
            tracing::warn!(error = %e, "bridge metrics not registered");
        }
        c
    })
}

/// The go-grpc-prometheus `grpc_type` of a method.
fn grpc_type(m: &Method) -> &'static str {
    match (m.client_streaming(), m.server_streaming()) {
        (false, false) => "unary",
        (true, false) => "client_stream",
        (false, true) => "server_stream",
        (true, true) => "bidi_stream",
    }
}

/// Counts one bridged call of `method` over `protocol` that ended with `code`.
pub(crate) fn record(protocol: Protocol, method: &Method, code: Code) {
    calls()
        .with_label_values(&[
            protocol.as_str(),
            grpc_type(method),
            method.service_name(),
            method.method_name(),
            crate::error::code_name(code),
        ])
        .inc();
}
