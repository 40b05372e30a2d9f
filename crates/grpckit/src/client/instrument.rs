//! The framework's client stack on a channel: trace (span + `traceparent` injection) outside,
//! metrics (`grpc_client_*`) inside.

use tonic::transport::Channel;
use tower::Layer;

use crate::middleware::{
    metrics::{MetricsLayer, MetricsService},
    trace::{TraceLayer, TraceService},
};

/// A channel with client tracing and metrics; use it wherever a `Channel` goes
/// (`UserServiceClient::new(instrument(channel))`).
pub type Instrumented<S = Channel> = TraceService<MetricsService<S>>;

/// Wraps `channel` with the client trace and metrics layers.
pub fn instrument<S>(channel: S) -> Instrumented<S> {
    TraceLayer::client().layer(MetricsLayer::client().layer(channel))
}
