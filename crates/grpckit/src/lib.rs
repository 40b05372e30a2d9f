//! # grpckit
//!
//! A production gRPC framework on tonic: typed config, ONE tower stack assembled by
//! [`server::ServerBuilder`], health and reflection built in, graceful shutdown, an admin
//! port, one error table ([`error`]) and a client ([`client`]) for service-to-service calls.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod bridge;
pub mod client;
mod clock;
pub mod config;
pub mod error;
mod error_chain;
pub mod framing;
pub mod headers;
pub mod middleware;
pub mod policy;
pub mod reason;
pub mod server;
pub mod telemetry;

pub use error::{ErrorKind, IntoStatus};
pub use error_chain::ErrorChain;
pub use reason::Reason;
pub use server::App;
