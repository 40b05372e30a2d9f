//! The server middleware. Each policy part lives in its own folder (its config, state and
//! rules); [`GrpcStackLayer`] fuses them into one service, in the order written once on
//! [`ServerBuilder`](crate::server::ServerBuilder) (see [`stack`]). Only the stack imports
//! the parts, never the other way round.

pub mod audit;
pub mod auth;
pub mod fault;
pub mod ip_filter;
pub mod log;
pub mod method;
pub mod metrics;
pub mod msg_size;
pub mod rate_limit;
pub mod recover;
pub mod stack;
pub mod switch;
pub mod timeout;
pub mod trace;
pub mod validate;

pub use stack::{
    GrpcStack, GrpcStackBuilder, GrpcStackLayer, ReloadError, StackBody, StackHandles,
};
