//! The framework's gRPC client: a channel built from the `client:` config, usable with any
//! tonic-generated client. Load balancing, retries and breakers plug in here.

mod channel;

pub use channel::{ClientError, connect, connect_lazy};
