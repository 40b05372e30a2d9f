//! The metrics layer: go-grpc-prometheus series per call (see [`crate::telemetry::metrics`]).
//! The same service measures client calls (`grpc_client_*`) when built with
//! [`MetricsLayer::client`]; see [`crate::client::metrics`].

mod layer;
mod service;

pub use layer::MetricsLayer;
pub use service::{MetricsFuture, MetricsService};
