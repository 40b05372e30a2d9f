//! The framework's gRPC client.
//!
//! [`ClientBuilder`] turns the `client:` config and a list of endpoints into a
//! [`BalancedChannel`]: a `tower::Service` that every tonic-generated client accepts. It
//! adds what tonic's `Channel` lacks:
//!
//! - discovery: static endpoints and `dns://` names re-resolved on an interval
//!   ([`discovery`](self) keeps in-flight calls on removed endpoints alive);
//! - balancing by name: `round_robin`, `weighted_round_robin`, `least_connections`,
//!   `p2c_ewma` (see `balance.rs`), over `connections_per_endpoint` HTTP/2 connections each;
//! - outlier ejection and a per-client circuit breaker (`breaker.rs`), optional
//!   `grpc.health.v1` probing (`health.rs`), connect errors and GOAWAY eject at once;
//! - retries per gRPC A6 with a token-bucket budget (`retry/`);
//! - TLS and mutual TLS (`client.tls`, `https://` endpoints) through one rustls
//!   [`TlsConnector`] (`tls/`), also used by the `grpckit` command line.
//!
//! [`connect`] and [`connect_lazy`] still give a plain tonic `Channel` to one address.
//! User guide: `docs/client.md`.

mod balance;
mod breaker;
mod builder;
mod call;
mod channel;
mod classify;
mod discovery;
mod health;
mod instrument;
pub mod metrics;
mod pool;
mod response;
mod retry;
mod service;
mod tls;

pub use builder::ClientBuilder;
pub use channel::{ClientError, connect, connect_lazy};
pub use response::ResponseBody;
pub use service::{BalancedChannel, BoxError, ClientService, EndpointStatus, ResponseFuture};
pub use tls::{TlsConnector, TlsError, TlsFile};

/// Internals exposed for the criterion benches only (feature `bench-internals`).
#[cfg(feature = "bench-internals")]
pub mod bench {
    pub use super::bench_support::*;
}
#[cfg(feature = "bench-internals")]
mod bench_support;
pub use instrument::{Instrumented, instrument};

/// Registers the methods of an encoded `FileDescriptorSet` with the client: their kinds for
/// the client metrics, and which are safe to send twice (`option idempotency_level =
/// NO_SIDE_EFFECTS` or `IDEMPOTENT`: retried like `retry.idempotent_methods`). A server
/// builder registers its sets itself.
pub fn register_descriptor_set(bytes: &'static [u8]) {
    crate::telemetry::metrics::register_descriptor_set(bytes);
}
