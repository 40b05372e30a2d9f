//! The server middleware. Each layer lives in its own folder; [`GrpcStackLayer`] composes
//! them in the documented order (see [`crate::server::ServerBuilder`]).

mod stack;

pub use stack::GrpcStackLayer;
