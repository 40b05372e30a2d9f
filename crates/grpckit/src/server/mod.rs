//! [`ServerBuilder`]: assembles listeners, the ONE tower stack, health, reflection and
//! graceful shutdown around the services you add.

mod builder;
mod end_stream;
mod health;
mod incoming;
mod reflection;
pub mod runtime;
mod shutdown;
mod signals;

pub use builder::{ServeError, ServerBuilder};
pub use end_stream::EndOnShutdown;
pub use reflection::google_rpc_descriptors;
pub use shutdown::{Shutdown, wait_for_signal};
pub use signals::{Signals, signal_exit_code};
