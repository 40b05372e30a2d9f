//! The ONE place where the server's tower stack is assembled.

use tower::Layer;

use super::{
    metrics::{MetricsLayer, MetricsService},
    trace::{TraceLayer, TraceService},
};

/// The composed server stack, outermost first: recover -> log -> trace -> metrics -> ip
/// filter -> auth -> ... (see [`crate::server::ServerBuilder`]).
#[derive(Debug, Clone, Default)]
pub struct GrpcStackLayer {
    _private: (),
}

impl<S> Layer<S> for GrpcStackLayer {
    type Service = TraceService<MetricsService<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        let inner = MetricsLayer::server().layer(inner);
        TraceLayer::server().layer(inner)
    }
}
