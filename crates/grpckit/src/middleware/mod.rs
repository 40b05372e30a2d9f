//! The server middleware. Each layer lives in its own folder; [`GrpcStackLayer`] composes
//! them in the documented order (see [`crate::server::ServerBuilder`]).

pub mod metrics;
mod stack;
pub mod trace;

pub use stack::GrpcStackLayer;
