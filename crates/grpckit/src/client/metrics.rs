//! Client-side metrics: the `grpc_client_*` twins of the server series, as a tower layer for
//! a tonic [`Channel`](tonic::transport::Channel).
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use tower::ServiceBuilder;
//! let channel = tonic::transport::Channel::from_static("http://127.0.0.1:9090").connect_lazy();
//! let metered = ServiceBuilder::new().layer(grpckit::client::metrics::ClientMetricsLayer::client()).service(channel);
//! // UserServiceClient::new(metered) ...
//! # Ok(()) }
//! ```

pub use crate::middleware::metrics::{
    MetricsLayer as ClientMetricsLayer, MetricsService as ClientMetricsService,
};
