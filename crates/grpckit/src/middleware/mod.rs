//! The server middleware. Each layer lives in its own folder; [`GrpcStackLayer`] composes
//! them in the documented order (see [`crate::server::ServerBuilder`]).

pub mod msg_size;
mod stack;

pub use stack::GrpcStackLayer;
