//! The framework's gRPC client: a channel built from the `client:` config, usable with any
//! tonic-generated client. Load balancing, retries and breakers plug in here.

mod channel;
mod instrument;
pub mod metrics;

pub use channel::{ClientError, connect, connect_lazy};
pub use instrument::{Instrumented, instrument};
