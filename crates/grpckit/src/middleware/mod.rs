//! The server middleware. Each part lives in its own folder; [`GrpcStackLayer`] fuses them
//! into one service in the documented order (see [`stack`]).

pub mod audit;
pub mod auth;
mod body;
pub mod log;
pub mod method;
pub mod metrics;
pub mod msg_size;
pub mod rate_limit;
mod record;
pub mod recover;
pub mod stack;
pub mod timeout;
pub mod trace;
pub mod validate;

pub use body::StackBody;
pub use stack::{GrpcStack, GrpcStackLayer, StackHandles};
